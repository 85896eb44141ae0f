"""Importers: specs written from models that exist elsewhere (a Hugging Face config.json)."""
