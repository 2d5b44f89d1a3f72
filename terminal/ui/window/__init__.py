"""The main window and what frames it: the window list, menus and actions, the
command palette, the help sheet, notices, the log panel and the status bar."""
