"""The walk and its results: the engine, receptive fields, the report."""
