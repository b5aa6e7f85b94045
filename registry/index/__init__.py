"""The PostgreSQL index: derived state rebuilt from storage (see DESIGN.md)."""
