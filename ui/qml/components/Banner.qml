// A one-line error / notice strip; hidden while its text is empty.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

Rectangle {
    id: banner
    property string text
    property bool closable: false
    property color textColor: "#b3261e"
    signal closed()

    visible: text.length > 0
    color: "#fce8e6"
    implicitHeight: row.implicitHeight + 12
    RowLayout {
        id: row
        anchors.fill: parent
        anchors.margins: 6
        Label {
            text: banner.text
            color: banner.textColor
            wrapMode: Text.Wrap
            Layout.fillWidth: true
        }
        ToolButton {
            visible: banner.closable
            text: "✕"
            onClicked: banner.closed()
        }
    }
}
