// A reply's thinking (reasoning deltas): collapsed to one header line until clicked.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

ColumnLayout {
    id: section
    property string text
    property bool streaming: false
    property bool expanded: false
    spacing: 4

    ToolButton {
        text: (section.expanded ? "▾ " : "▸ ")
              + (section.streaming ? qsTr("Thinking…") : qsTr("Thinking"))
              + qsTr(" (%1 characters)").arg(section.text.length)
        font.italic: true
        onClicked: section.expanded = !section.expanded
    }
    TextEdit {
        visible: section.expanded
        text: section.text
        readOnly: true
        selectByMouse: true
        textFormat: TextEdit.PlainText
        wrapMode: TextEdit.Wrap
        color: "#5f6368"
        font.italic: true
        Layout.fillWidth: true
        Layout.leftMargin: 14
    }
}
