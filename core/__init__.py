"""RenewDay core: models, store and one service module per desk. Never imports streamlit."""
