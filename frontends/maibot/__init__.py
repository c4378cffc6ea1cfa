"""The MaiBot front end: everything that knows the MaiBot host and `maibot_sdk`."""
