// One message: who said it, the reply's thinking (collapsible), its text (selectable), tool-call
// cards, and a footer with the finish reason, token counts or the error.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GemDesk

Item {
    id: root
    required property string role
    required property string content
    required property string reasoning
    required property var toolCalls
    required property bool streaming
    required property string finishReason
    required property string errorText
    required property int promptTokens
    required property int completionTokens
    readonly property bool isUser: role === "user"

    implicitHeight: bubble.implicitHeight

    Rectangle {
        id: bubble
        x: root.isUser ? root.width - width - 16 : 16
        width: Math.min(root.width - 80, Math.max(body.implicitWidth + 24, 200))
        implicitHeight: body.implicitHeight + 20
        radius: 10
        color: root.isUser ? "#d3e3fd" : "#ffffff"
        border.color: root.isUser ? "transparent" : "#dadce0"

        ColumnLayout {
            id: body
            x: 12
            y: 10
            width: bubble.width - 24
            spacing: 6

            Label {
                text: root.isUser ? qsTr("You") : qsTr("Gemma")
                font.bold: true
                color: "#3c4043"
            }
            ThinkingSection {
                visible: root.reasoning.length > 0
                text: root.reasoning
                streaming: root.streaming && root.content.length === 0
                Layout.fillWidth: true
            }
            TextEdit {
                objectName: "messageText"
                visible: text.length > 0
                text: root.content
                readOnly: true
                selectByMouse: true
                persistentSelection: true
                textFormat: TextEdit.PlainText
                wrapMode: TextEdit.Wrap
                Layout.fillWidth: true
            }
            Repeater {
                model: root.toolCalls
                ToolCallCard {
                    required property var modelData
                    name: modelData.name
                    arguments: modelData.arguments
                    callId: modelData.id
                    Layout.fillWidth: true
                }
            }
            BusyIndicator {
                visible: root.streaming
                running: root.streaming
                implicitWidth: 24
                implicitHeight: 24
            }
            Label {
                visible: !root.isUser && !root.streaming
                text: root.errorText.length > 0 ? root.errorText : root.footerText()
                color: root.errorText.length > 0 ? "#b3261e" : "#80868b"
                font.pixelSize: 11
                wrapMode: Text.Wrap
                Layout.fillWidth: true
            }
        }
    }

    function footerText() {
        var reason = {
            "stop": "",
            "length": qsTr("stopped at the length limit · "),
            "cancelled": qsTr("stopped · "),
            "tool_calls": qsTr("tool calls · ")
        }[root.finishReason] || ""
        return reason + qsTr("%1 tokens").arg(root.completionTokens)
    }
}
