"""One file per page; ``civeval.ui.navigation`` lists them for ``st.navigation``."""
