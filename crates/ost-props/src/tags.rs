//! Property ids ([MS-OXPROPS]) the tool reads or names: one list, from
//! which both the constants and the names `ostscan dump` shows come.

macro_rules! tags {
    ($($name:ident = $id:expr;)*) => {
        $(
            #[doc = concat!("`", stringify!($name), "` (", stringify!($id), ").")]
            pub const $name: u16 = $id;
        )*
        /// Every property id of the list with its name, in list order.
        pub static TAGS: &[(u16, &str)] = &[$(($id, stringify!($name))),*];
    };
}

tags! {
    PR_MESSAGE_CLASS = 0x001A;
    PR_SUBJECT = 0x0037;
    PR_MESSAGE_FLAGS = 0x0E07;
    PR_MESSAGE_STATUS = 0x0E17;
    PR_MESSAGE_DELIVERY_TIME = 0x0E06;
    PR_BODY = 0x1000;
    PR_DISPLAY_NAME = 0x3001;
    PR_LAST_MODIFICATION_TIME = 0x3008;
    PR_SEARCH_KEY = 0x300B;
    PR_CONTENT_COUNT = 0x3602;
    PR_CONTAINER_CLASS = 0x3613;
    PR_ADDITIONAL_REN_ENTRYIDS = 0x36D8;
    PR_INTERNET_CPID = 0x3FDE;
    PR_CONFLICT_ENTRYID = 0x3FF0;
    PR_MESSAGE_CODEPAGE = 0x3FFD;
    PR_SOURCE_KEY = 0x65E0;
    PR_PARENT_SOURCE_KEY = 0x65E1;
    PR_CHANGE_KEY = 0x65E2;
    PR_PREDECESSOR_CHANGE_LIST = 0x65E3;
    PR_CHANGE_NUM = 0x67A4;
    PR_LTP_ROW_ID = 0x67F2;
    PR_ALTERNATE_RECIPIENT_ALLOWED = 0x0002;
    PR_IMPORTANCE = 0x0017;
    PR_PRIORITY = 0x0026;
    PR_SENSITIVITY = 0x0036;
    PR_CLIENT_SUBMIT_TIME = 0x0039;
    PR_SENT_REPRESENTING_NAME = 0x0042;
    PR_CONVERSATION_TOPIC = 0x0070;
    PR_CONVERSATION_INDEX = 0x0071;
    PR_SENDER_NAME = 0x0C1A;
    PR_SENDER_EMAIL_ADDRESS = 0x0C1F;
    PR_DISPLAY_CC = 0x0E03;
    PR_DISPLAY_TO = 0x0E04;
    PR_MESSAGE_SIZE = 0x0E08;
    PR_ENTRYID = 0x0FFF;
    PR_RTF_COMPRESSED = 0x1009;
    PR_HTML = 0x1013;
    PR_INTERNET_MESSAGE_ID = 0x1035;
    PR_CREATION_TIME = 0x3007;
    PR_CONTENT_UNREAD = 0x3603;
    PR_SUBFOLDERS = 0x360A;
    PR_IPM_SUBTREE_ENTRYID = 0x35E0;
    PR_IPM_WASTEBASKET_ENTRYID = 0x35E3;
    PR_FINDER_ENTRYID = 0x35E7;
    PR_CREATOR_NAME = 0x3FF9;
}

/// The name of a property id of the list, for `ostscan dump`.
pub fn name(id: u16) -> Option<&'static str> {
    TAGS.iter()
        .find(|(tag, _)| *tag == id)
        .map(|(_, name)| *name)
}
