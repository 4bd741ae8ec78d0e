// The Settings dialog's "Model" tab: backend, weights, KV cache, context length and the per-layer
// embedding table's place, each with a one-line trade-off, then "Apply and reload model".
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GemDesk

ColumnLayout {
    id: tab
    required property SettingsController settings
    required property ModelController loader

    readonly property bool applied: JSON.stringify(settings.modelOptions) === JSON.stringify(loader.options)
    readonly property bool busy: loader.reloading || loader.state === ModelController.Loading
    readonly property var weightItems: [
        { value: "stored", text: qsTr("As stored (bf16)") },
        { value: "q8_0", text: qsTr("q8_0 (8-bit)") },
        { value: "q4_0", text: qsTr("q4_0 (4-bit)") }
    ]
    readonly property var kvItems: [
        { value: "f32", text: qsTr("f32 (exact)") },
        { value: "bf16", text: qsTr("bf16 (half size)") },
        { value: "q8_0", text: qsTr("q8_0 (8-bit)") }
    ]

    function backendHint(name) {
        if (name === "cpu") return qsTr("All CPU cores with SIMD kernels. Works everywhere.")
        if (name === "cpu-ref") return qsTr("Scalar reference code: very slow, for checking results only.")
        if (name === "cuda") return qsTr("NVIDIA GPU: by far the fastest; needs the model in GPU memory.")
        if (name === "cuda-f32") return qsTr("NVIDIA GPU, every product in f32: slower, for checking results.")
        if (name === "cuda-bf16") return qsTr("NVIDIA GPU, bf16 prompt processing: fastest, slightly less exact.")
        return ""
    }
    function weightHint(v) {
        if (v === "q8_0") return qsTr("About half the memory of bf16, answers nearly identical; faster on the GPU.")
        if (v === "q4_0") return qsTr("About a quarter of the memory: the smallest and fastest, with some quality loss.")
        return qsTr("Full quality, the most memory.")
    }
    function kvHint(v) {
        if (v === "bf16") return qsTr("Half the memory per token of f32, tiny rounding.")
        if (v === "q8_0") return qsTr("About a quarter of the memory per token, small rounding; allows long contexts.")
        return qsTr("Exact, the most memory per token of context.")
    }

    spacing: 6

    component Hint: Label {
        color: "#5f6368"
        font.pixelSize: 11
        wrapMode: Text.Wrap
        Layout.fillWidth: true
    }

    GridLayout {
        columns: 2
        columnSpacing: 12
        rowSpacing: 2
        Layout.fillWidth: true

        Label { text: qsTr("Backend") }
        ComboBox {
            objectName: "backendBox"
            model: tab.settings.backendChoices
            currentIndex: Math.max(0, tab.settings.backendChoices.indexOf(tab.settings.modelBackend))
            onActivated: tab.settings.modelBackend = currentText
            Layout.fillWidth: true
        }
        Item { width: 1; height: 1 }
        Hint { text: tab.backendHint(tab.settings.modelBackend) }

        Label { text: qsTr("Weights") }
        ComboBox {
            objectName: "weightsBox"
            model: tab.weightItems
            textRole: "text"
            valueRole: "value"
            currentIndex: Math.max(0, indexOfValue(tab.settings.modelWeights))
            onActivated: tab.settings.modelWeights = currentValue
            Layout.fillWidth: true
        }
        Item { width: 1; height: 1 }
        Hint { text: tab.weightHint(tab.settings.modelWeights) }

        Label { text: qsTr("KV cache") }
        ComboBox {
            objectName: "kvCacheBox"
            model: tab.kvItems
            textRole: "text"
            valueRole: "value"
            currentIndex: Math.max(0, indexOfValue(tab.settings.modelKvCache))
            onActivated: tab.settings.modelKvCache = currentValue
            Layout.fillWidth: true
        }
        Item { width: 1; height: 1 }
        Hint { text: tab.kvHint(tab.settings.modelKvCache) }

        Label { text: qsTr("Context length") }
        SpinBox {
            objectName: "contextBox"
            from: tab.settings.minContextLength
            to: tab.settings.maxContextLength
            stepSize: 1024
            editable: true
            value: tab.settings.modelContextLength
            textFromValue: (v) => String(v)
            valueFromText: (t) => parseInt(t)
            onValueModified: tab.settings.modelContextLength = value
        }
        Item { width: 1; height: 1 }
        Hint {
            text: qsTr("Tokens one conversation can hold (capped at the model's maximum). "
                       + "The KV cache grows with it.")
        }
    }

    CheckBox {
        objectName: "pleHostBox"
        text: qsTr("Keep the per-layer embedding table in host memory (GPU)")
        checked: tab.settings.modelPleOnHost
        onToggled: tab.settings.modelPleOnHost = checked
    }
    Hint {
        text: qsTr("Saves several GB of GPU memory on E4B for a small speed cost; no effect on CPU backends.")
        leftPadding: 8
    }

    MenuSeparator { Layout.fillWidth: true }
    Label {
        text: qsTr("Running now: %1 · weights %2 · KV %3 · %4 tokens%5")
                  .arg(tab.loader.options.backend).arg(tab.loader.options.weights)
                  .arg(tab.loader.options.kvCache).arg(tab.loader.options.contextLength)
                  .arg(tab.loader.options.pleOnHost ? qsTr(" · PLE in host memory") : "")
        wrapMode: Text.Wrap
        Layout.fillWidth: true
    }
    CheckBox {
        id: keepServing
        objectName: "keepServingBox"
        text: qsTr("Keep answering with the current model while the new one loads")
        checked: !tab.settings.modelBackend.startsWith("cuda") && !tab.loader.backend.startsWith("cuda")
    }
    Hint {
        text: keepServing.checked
              ? qsTr("Needs memory for both models while loading; if the new one fails, nothing changes.")
              : qsTr("Frees the current model first (less memory); chats wait until the new one is ready.")
        leftPadding: 8
    }
    RowLayout {
        Layout.fillWidth: true
        Button {
            objectName: "applyModelButton"
            text: qsTr("Apply and reload model")
            highlighted: !tab.applied
            enabled: !tab.busy && tab.loader.modelPath.length > 0
            onClicked: tab.loader.reloadWith(tab.settings.modelOptions, keepServing.checked)
        }
        Button {
            visible: tab.loader.reloading
            text: qsTr("Cancel")
            onClicked: tab.loader.cancelLoad()
        }
        Label {
            visible: !tab.busy && !tab.applied
            text: qsTr("Saved; applies when the model reloads.")
            color: "#5f6368"
        }
    }
    ProgressBar {
        visible: tab.loader.reloading
        value: tab.loader.progress
        Layout.fillWidth: true
    }
    Label {
        objectName: "reloadError"
        visible: tab.loader.reloadError.length > 0
        text: tab.loader.reloadError
        color: "#b3261e"
        wrapMode: Text.Wrap
        Layout.fillWidth: true
    }
    Button {
        visible: tab.loader.reloadError.length > 0 && !tab.applied
        text: qsTr("Go back to the settings of the running model")
        onClicked: {
            tab.settings.modelOptions = tab.loader.options
            tab.loader.dismissReloadError()
        }
    }
}
