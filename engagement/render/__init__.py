"""What a summary looks like: presentation, reports, charts, SVG and links."""
