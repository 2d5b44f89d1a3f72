"""The alerts' widgets: the panel that lists them and their history, the dialog that
makes or edits one, and the toast that says one fired."""
