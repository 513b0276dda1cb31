"""The PySide6 window: navigator, lists, wizard and dialogs. Qt lives only here."""
