"""leadradar: the Streamlit entry point.  Routes over the pages in ``pages/``."""

import streamlit as st

from crm_core.database import DatabaseBusy, get_database

st.set_page_config(page_title="leadradar CRM", page_icon=":material/radar:", layout="wide")

navigation = st.navigation(
    {
        "Sales": [
            st.Page(
                "pages/contacts.py",
                title="Contacts",
                icon=":material/contacts:",
                url_path="contacts",
                default=True,
            ),
            st.Page("pages/contact.py", title="Contact", url_path="contact", visibility="hidden"),
        ],
        "Admin": [
            st.Page(
                "pages/settings.py",
                title="Settings",
                icon=":material/settings:",
                url_path="settings",
            ),
        ],
    }
)

try:
    get_database()  # migrates once per process; later calls are a dictionary look-up
except DatabaseBusy as exc:
    st.warning(str(exc))
    st.stop()

navigation.run()
