"""calcd: real-time calculations (lift, well test, drilling, coiled tubing, integrity)."""
