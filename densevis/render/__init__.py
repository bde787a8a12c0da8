"""Records -> tables, diagrams, charts and files. Never imports torch or streamlit."""
