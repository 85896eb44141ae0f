"""Importers: specs written from existing models (Hugging Face configs, ONNX files)."""
