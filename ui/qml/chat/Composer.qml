// The message box: Enter sends, Shift+Enter adds a line; Send becomes Stop while a reply streams.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GemDesk

Pane {
    id: composer
    required property ChatController chat
    padding: 8

    RowLayout {
        anchors.fill: parent
        ScrollView {
            Layout.fillWidth: true
            Layout.preferredHeight: Math.min(input.implicitHeight + 8, 160)
            TextArea {
                id: input
                objectName: "messageInput"
                placeholderText: qsTr("Message Gemma… (Enter to send, Shift+Enter for a new line)")
                wrapMode: TextArea.Wrap
                background: Rectangle {
                    border.color: input.activeFocus ? "#1a73e8" : "#c4c7c5"
                    radius: 6
                }
                Keys.onReturnPressed: (event) => {
                    if (event.modifiers & Qt.ShiftModifier) {
                        event.accepted = false
                    } else {
                        composer.submit()
                    }
                }
            }
        }
        Button {
            objectName: "sendButton"
            text: composer.chat.busy ? qsTr("Stop") : qsTr("Send")
            highlighted: !composer.chat.busy
            enabled: composer.chat.busy || (composer.chat.canSend && input.text.trim().length > 0)
            onClicked: composer.chat.busy ? composer.chat.stop() : composer.submit()
        }
    }

    function submit() {
        if (!composer.chat.canSend)
            return
        if (composer.chat.send(input.text))
            input.clear()
    }
}
