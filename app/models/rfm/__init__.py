"""RFM (recency, frequency, monetary) from transactions: column detection, date formats, the build and names."""
