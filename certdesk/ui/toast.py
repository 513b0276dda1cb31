"""An unobtrusive notification that appears over the window's corner and fades by itself."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QWidget

TOAST_MS = 4000


class Toast(QLabel):
    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self.setObjectName("toast")
        self.setAccessibleName(self.tr("Notification"))
        self.setWordWrap(True)
        self.setMaximumWidth(420)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet(
            "QLabel#toast { background: rgba(33, 37, 41, 230); color: white; border-radius: 8px; padding: 10px 14px;"
            " border: 1px solid rgba(255, 255, 255, 70); }"  # the edge shows it on the dark theme too
        )
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        host.installEventFilter(self)
        self.hide()

    def show_message(self, text: str, msecs: int = TOAST_MS) -> None:
        self.setText(text)
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        self._timer.start(msecs)

    def _place(self) -> None:
        host = self.parentWidget()
        if host is not None:
            margin = 18
            self.move(host.width() - self.width() - margin, host.height() - self.height() - margin - 24)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False
