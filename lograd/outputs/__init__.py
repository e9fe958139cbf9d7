"""What a report becomes: the human text (report), follow mode's outputs (display), the HTML page (html)."""
