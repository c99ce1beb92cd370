/// The kind of program a software message comes from, read off the gettext catalog (the
/// `domain` of a parallel-text row): the answers of the `program` instruction task.
///
/// Why this task: it is topic classification of real text, a staple of instruction-tuning
/// collections (FLAN, xP3), with graded difficulty a small model can climb — "Reconcile the
/// account" is plainly accounting, "Could not open the file" could be anything — and its
/// answer is not in the prompt, so it needs no copying from the context (see
/// `InstructionTasks`). Only catalogs whose program kind is unambiguous are mapped; rows of
/// other catalogs (toolkits, LibreOffice's shared libraries, country names) get another task.
public enum ProgramKinds {
    /// The kinds, in the order of the names in `names`.
    public enum Kind: Int, Sendable, CaseIterable {
        case accounting, spreadsheet, email, audioEditing, mediaPlayer, painting, fileManager, desktopSettings, database
    }

    /// The kind of the program of a gettext catalog (text domain), nil for one not mapped.
    public static func kind(ofDomain domain: String) -> Kind? { kindByDomain[domain] }

    static let kindByDomain: [String: Kind] = [
        "gnucash": .accounting,
        "sc": .spreadsheet, "sca": .spreadsheet,  // LibreOffice Calc and its add-ins
        "evolution": .email, "evolution-data-server": .email,
        "audacity": .audioEditing,
        "vlc": .mediaPlayer,
        "krita": .painting,
        "caja": .fileManager, "nemo": .fileManager, "nemo-extensions": .fileManager,
        "cinnamon": .desktopSettings, "cinnamon-control-center": .desktopSettings,
        "cinnamon-settings-daemon": .desktopSettings, "cinnamon-session": .desktopSettings,
        "cinnamon-screensaver": .desktopSettings, "gnome-control-center-2.0": .desktopSettings,
        "gnome-panel": .desktopSettings, "gnome-shell": .desktopSettings,
        "dba": .database,  // LibreOffice Base
    ]

    /// The name of `kind`, written in `lang` (one of `Refusals.languages`).
    public static func name(of kind: Kind, in lang: String) -> String { names[lang]![kind.rawValue] }

    /// Per language: the kinds' names, in `Kind` order.
    static let names: [String: [String]] = [
        "en": ["accounting", "spreadsheet", "email", "audio editing", "media player", "painting",
               "file manager", "desktop settings", "database"],
        "fr": ["comptabilité", "tableur", "courrier électronique", "édition audio", "lecteur multimédia", "peinture",
               "gestionnaire de fichiers", "paramètres du bureau", "base de données"],
        "es": ["contabilidad", "hoja de cálculo", "correo electrónico", "edición de audio", "reproductor multimedia",
               "pintura", "gestor de archivos", "configuración del escritorio", "base de datos"],
        "ru": ["бухгалтерия", "электронная таблица", "электронная почта", "редактирование звука", "медиаплеер",
               "рисование", "файловый менеджер", "настройки рабочего стола", "база данных"],
        "ar": ["المحاسبة", "جدول بيانات", "البريد الإلكتروني", "تحرير الصوت", "مشغل الوسائط", "الرسم",
               "مدير الملفات", "إعدادات سطح المكتب", "قاعدة بيانات"],
        "hi": ["लेखांकन", "स्प्रेडशीट", "ईमेल", "ऑडियो संपादन", "मीडिया प्लेयर", "चित्रकारी",
               "फ़ाइल प्रबंधक", "डेस्कटॉप सेटिंग्स", "डेटाबेस"],
    ]
}
