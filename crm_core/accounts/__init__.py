"""Accounts: users and roles, passwords, sign-in sessions, throttling of failed sign-ins."""
