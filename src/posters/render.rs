//! A poster as a PNG: the template's background, title, the customer's text (wrapped), footer, and a QR code,
//! drawn with the bundled font (Noto Sans SC cut to GB2312, `assets/fonts/`). A character the font lacks (a rare
//! name, an emoji) is left out rather than drawn as a box.

use std::io::Cursor;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{ImageFormat, Rgba, RgbaImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_text_mut};
use imageproc::rect::Rect;
use qrcode::{Color, EcLevel, QrCode};

use super::model::{colour, PosterConfig};

static FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-GB2312.otf");

fn font() -> FontRef<'static> {
    FontRef::try_from_slice(FONT).expect("the bundled poster font parses")
}

/// `text` without the characters the font cannot draw (and without control characters).
pub fn drawable(text: &str) -> String {
    let font = font();
    text.chars()
        .filter(|c| !c.is_control() && (*c == ' ' || font.glyph_id(*c).0 != 0))
        .collect()
}

/// Lines of `text` no wider than `width` pixels at `scale`.
fn wrap(font: &FontRef<'_>, scale: PxScale, text: &str, width: f32) -> Vec<String> {
    let scaled = font.as_scaled(scale);
    let mut lines = vec![String::new()];
    let mut used = 0.0;
    for c in text.chars() {
        let advance = scaled.h_advance(font.glyph_id(c));
        if used + advance > width && !lines.last().is_some_and(String::is_empty) {
            lines.push(String::new());
            used = 0.0;
        }
        if let Some(line) = lines.last_mut() {
            line.push(c);
        }
        used += advance;
    }
    lines
}

fn text_width(font: &FontRef<'_>, scale: PxScale, text: &str) -> f32 {
    let scaled = font.as_scaled(scale);
    text.chars()
        .map(|c| scaled.h_advance(font.glyph_id(c)))
        .sum()
}

/// Draws `lines` centred from `top`; returns where they end.
fn centred(image: &mut RgbaImage, ink: Rgba<u8>, size: f32, top: f32, lines: &[String]) -> f32 {
    let font = font();
    let scale = PxScale::from(size);
    let mut y = top;
    for line in lines {
        let x = ((image.width() as f32 - text_width(&font, scale, line)) / 2.0).max(0.0);
        draw_text_mut(image, ink, x as i32, y as i32, scale, &font, line);
        y += size * 1.4;
    }
    y
}

/// The poster, as PNG bytes. `qr` is what its QR code encodes.
pub fn render(config: &PosterConfig, text: &str, qr: &str) -> anyhow::Result<Vec<u8>> {
    let [r, g, b] = colour(&config.background).unwrap_or([0xb7, 0x1c, 0x1c]);
    let [ir, ig, ib] = colour(&config.ink).unwrap_or([0xff, 0xf8, 0xe1]);
    let ink = Rgba([ir, ig, ib, 255]);
    let (width, height) = (config.width, config.height);
    let mut image = RgbaImage::from_pixel(width, height, Rgba([r, g, b, 255]));
    let font = font();
    let unit = width as f32 / 750.0;
    let margin = 60.0 * unit;
    let title = drawable(&config.title);
    let mut y = centred(&mut image, ink, 64.0 * unit, 90.0 * unit, &[title]);
    let body_scale = PxScale::from(44.0 * unit);
    let body = wrap(
        &font,
        body_scale,
        &drawable(text),
        width as f32 - 2.0 * margin,
    );
    y = centred(&mut image, ink, 44.0 * unit, y + 60.0 * unit, &body);
    let footer = drawable(&config.footer);
    centred(&mut image, ink, 30.0 * unit, y + 30.0 * unit, &[footer]);
    draw_qr(&mut image, qr, (width as f32 * 0.36) as u32)?;
    let mut png = Vec::new();
    image.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)?;
    Ok(png)
}

/// The QR code on a white card at the bottom centre, with the quiet zone a scanner needs.
fn draw_qr(image: &mut RgbaImage, content: &str, size: u32) -> anyhow::Result<()> {
    let code = QrCode::with_error_correction_level(content.as_bytes(), EcLevel::M)?;
    let modules = code.width() as u32;
    let quiet = 4;
    let cell = (size / (modules + 2 * quiet)).max(2);
    let side = cell * (modules + 2 * quiet);
    let left = (image.width().saturating_sub(side)) / 2;
    let top = image.height().saturating_sub(side + image.height() / 12);
    let white = Rgba([255, 255, 255, 255]);
    let black = Rgba([0, 0, 0, 255]);
    draw_filled_rect_mut(
        image,
        Rect::at(left as i32, top as i32).of_size(side, side),
        white,
    );
    for (i, colour) in code.to_colors().into_iter().enumerate() {
        if colour == Color::Dark {
            let (x, y) = (i as u32 % modules, i as u32 / modules);
            draw_filled_rect_mut(
                image,
                Rect::at(
                    (left + (x + quiet) * cell) as i32,
                    (top + (y + quiet) * cell) as i32,
                )
                .of_size(cell, cell),
                black,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_the_font_lacks_are_left_out() {
        assert_eq!(drawable("新年快乐🎉"), "新年快乐");
        assert_eq!(drawable("王𰻞𰻞面"), "王面");
        assert_eq!(drawable("a\u{202e}b\n"), "ab");
    }

    #[test]
    fn long_text_wraps_within_the_width() {
        let font = font();
        let scale = PxScale::from(44.0);
        let lines = wrap(&font, scale, &"新春快乐万事如意".repeat(4), 630.0);
        assert!(lines.len() > 1);
        assert!(lines
            .iter()
            .all(|line| text_width(&font, scale, line) <= 630.0));
    }
}
