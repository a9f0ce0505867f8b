"""leadradar in the mail program: the Thunderbird add-on and the Outlook add-in (sources in the
folders next to this file, package data), and ``builder``, which makes them for one server."""
