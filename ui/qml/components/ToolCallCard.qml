// One tool call the model made: the function name and its arguments (JSON), selectable.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

Frame {
    id: card
    property string name
    property string arguments
    property string callId

    background: Rectangle { color: "#eef3fd"; border.color: "#aac4f0"; radius: 6 }
    ColumnLayout {
        anchors.left: parent.left
        anchors.right: parent.right
        spacing: 2
        Label { text: qsTr("Tool call: %1").arg(card.name); font.bold: true }
        TextEdit {
            text: card.prettyArguments()
            readOnly: true
            selectByMouse: true
            textFormat: TextEdit.PlainText
            wrapMode: TextEdit.WrapAnywhere
            font.family: "monospace"
            Layout.fillWidth: true
        }
    }

    function prettyArguments() {
        try {
            return JSON.stringify(JSON.parse(card.arguments), null, 2)
        } catch (e) {
            return card.arguments
        }
    }
}
