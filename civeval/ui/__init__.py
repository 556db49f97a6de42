"""The Streamlit interface: pages and widgets. Thin: they call civeval functions and hold no rules."""
