//! A small, strict XML reader for WeChat's flat messages: it builds a tree of elements and text, refuses any
//! DOCTYPE (so no DTD, no external entity, no entity expansion), resolves only the five predefined entities
//! and character references, and bounds depth and size.

use quick_xml::events::Event;
use quick_xml::Reader;

const MAX_DEPTH: usize = 8;
const MAX_ELEMENTS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    #[error("XML is nested or sized beyond the limits")]
    TooLarge,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Text of a direct child, trimmed; None if absent or empty.
    pub fn text_of(&self, name: &str) -> Option<String> {
        self.child(name)
            .map(|c| c.text.trim().to_owned())
            .filter(|t| !t.is_empty())
    }
}

fn resolve_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

/// Parses a whole document into its root element.
pub fn parse(input: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(input);
    let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed(e.to_string());
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| malformed(&e))?;
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(XmlError::Malformed("content after the root element".into()));
            }
            Event::Start(start) => {
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err(XmlError::TooLarge);
                }
                let name = start.name().as_ref().to_owned();
                stack.push(Element {
                    name,
                    ..Default::default()
                });
            }
            Event::Empty(start) => {
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err(XmlError::TooLarge);
                }
                let name = start.name().as_ref().to_owned();
                let element = Element {
                    name,
                    ..Default::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => match stack.last_mut() {
                Some(current) => current
                    .text
                    .push_str(&text.xml_content(quick_xml::XmlVersion::Implicit1_0)),
                None if text
                    .xml_content(quick_xml::XmlVersion::Implicit1_0)
                    .trim()
                    .is_empty() => {}
                None => return Err(XmlError::Malformed("text outside the root element".into())),
            },
            Event::CData(data) => {
                let current = stack
                    .last_mut()
                    .ok_or_else(|| XmlError::Malformed("CDATA outside the root element".into()))?;
                current
                    .text
                    .push_str(&data.xml_content(quick_xml::XmlVersion::Implicit1_0));
            }
            Event::GeneralRef(reference) => {
                let current = stack.last_mut().ok_or_else(|| {
                    XmlError::Malformed("reference outside the root element".into())
                })?;
                let resolved = if reference.is_char_ref() {
                    reference.resolve_char_ref().map_err(|e| malformed(&e))?
                } else {
                    resolve_entity(&reference.xml_content(quick_xml::XmlVersion::Implicit1_0))
                };
                let ch = resolved
                    .ok_or_else(|| XmlError::Malformed("unknown entity reference".into()))?;
                current.text.push(ch);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("unclosed element".into()));
    }
    root.ok_or_else(|| XmlError::Malformed("no root element".into()))
}

/// `<![CDATA[...]]>` for any text: a `]]>` inside is split across two sections.
pub fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cdata_text_and_entities() {
        let root = parse("<xml><A><![CDATA[x]]></A><B>1 &amp; &#50;</B><C/></xml>").unwrap();
        assert_eq!(root.name, "xml");
        assert_eq!(root.text_of("A").as_deref(), Some("x"));
        assert_eq!(root.text_of("B").as_deref(), Some("1 & 2"));
        assert!(root.child("C").is_some());
    }

    #[test]
    fn refuses_doctypes_custom_entities_and_garbage() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><A>&e;</A></xml>"#;
        assert_eq!(parse(xxe).unwrap_err(), XmlError::Doctype);
        assert!(matches!(
            parse("<xml><A>&e;</A></xml>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            parse("<xml><A></xml>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            parse("<xml></xml><xml></xml>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(parse(""), Err(XmlError::Malformed(_))));
        let deep = "<a>".repeat(20) + &"</a>".repeat(20);
        assert_eq!(parse(&deep).unwrap_err(), XmlError::TooLarge);
    }

    #[test]
    fn cdata_splits_its_terminator() {
        let wrapped = cdata("a]]>b");
        assert_eq!(wrapped, "<![CDATA[a]]]]><![CDATA[>b]]>");
        let root = parse(&format!("<xml><T>{wrapped}</T></xml>")).unwrap();
        assert_eq!(root.text_of("T").as_deref(), Some("a]]>b"));
    }
}
