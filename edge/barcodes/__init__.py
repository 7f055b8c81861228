"""Barcodes: what a scan's text is (LP, location, receipt label...), by an ordered rule list."""
