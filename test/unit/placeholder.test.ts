/** The initials placeholder: the right letter, a stable colour, and SVG that stays well-formed whatever the name. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { colourFor, initialOf, renderPlaceholder } from '../../src/placeholder.js';
import { near } from '../fixtures/index.js';
import { createTestService } from '../fixtures/service.js';

/** Rasterises an SVG with librsvg (through sharp): fails when the SVG is not well-formed XML. */
async function rasterise(svg: string) {
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { info, at: (x: number, y: number) => [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4)] };
}

function hslToRgb(css: string): number[] {
  const [h, s, l] = css.match(/[\d.]+/g)!.map(Number) as [number, number, number];
  const a = (s / 100) * Math.min(l / 100, 1 - l / 100);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l / 100 - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

describe('initialOf', () => {
  it.each([
    ['ada', 'A'],
    ['élodie', 'É'],
    ['ñandú', 'Ñ'],
    ['ørjan', 'Ø'],
    ['straße', 'S'],
    ['ßeta', 'ß'], // one letter stays one letter: never "SS"
    ['ǆemal', 'Ǆ'], // a digraph letter upper-cases to its single capital
    ['ıvan', 'I'],
    ['istanbul', 'I'], // locale-independent: never the Turkish dotted İ
    ['李小龙', '李'],
    ['Ωmega', 'Ω'],
    ['👩‍💻 dev', '👩‍💻'],
    ['🇫🇷 Paris', '🇫🇷'],
    ['e\u0301mile', 'E\u0301'], // decomposed é stays one grapheme
    ['  bob  ', 'B'],
    ['\u200b\u0007zoe', 'Z'], // leading invisible and control characters are skipped
    ['', '?'],
    ['   ', '?'],
    [null, '?'],
    [undefined, '?'],
    [42 as unknown as string, '?'],
  ])('%j → %j', (name, expected) => {
    expect(initialOf(name)).toBe(expected);
  });
});

describe('colourFor', () => {
  it('is deterministic per id, an hsl() colour, and varies between ids', () => {
    expect(colourFor('42')).toBe(colourFor('42'));
    expect(colourFor('42')).toMatch(/^hsl\(\d{1,3}, 55%, 42%\)$/);
    const colours = new Set(Array.from({ length: 50 }, (_, i) => colourFor(`user-${i}`)));
    expect(colours.size).toBeGreaterThan(30);
  });
});

describe('renderPlaceholder', () => {
  it('draws the initial on the user’s colour', async () => {
    const svg = renderPlaceholder({ id: 'u-1', username: 'élodie' });
    expect(svg).toContain('>É</text>');
    expect(svg).toContain('aria-label="Avatar of élodie"');
    const { info, at } = await rasterise(svg);
    expect([info.width, info.height]).toEqual([64, 64]);
    expect(near(at(2, 2), [...hslToRgb(colourFor('u-1')), 255], 3)).toBe(true);
  });

  it('the same user gets byte-identical SVG; another id another colour', () => {
    const a = renderPlaceholder({ id: '1', username: 'ada' });
    expect(renderPlaceholder({ id: '1', username: 'ada' })).toBe(a);
    expect(renderPlaceholder({ id: '2', username: 'ada' })).not.toBe(a);
  });

  it('escapes markup and quotes in the username', async () => {
    const svg = renderPlaceholder({ id: '1', username: '<script>alert("x")</script>\'&' });
    expect(svg).not.toContain('<script');
    expect(svg).not.toMatch(/aria-label="[^"]*"[^ >]/); // the attribute is not broken out of
    expect(svg).toContain('aria-label="Avatar of &#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#39;&#38;"');
    expect(svg).toContain('>&#60;</text>');
    expect(svg.match(/<[a-z]+/g)).toEqual(['<svg', '<rect', '<text']);
    await rasterise(svg);
  });

  it('a username that tries to close the attribute cannot add attributes or elements', () => {
    const svg = renderPlaceholder({ id: '1', username: '" onload="alert(1)" x="' });
    expect(svg).not.toContain('onload="');
    expect(svg).toContain('&#34; onload=&#34;alert(1)&#34; x=&#34;');
  });

  it('control characters and lone surrogates do not make the SVG ill-formed', async () => {
    const svg = renderPlaceholder({ id: '1', username: '\u0000\u0008bad\ud800name\uffff' });
    expect(svg).toContain('>B</text>');
    expect(svg).toContain('aria-label="Avatar of badname"');
    await rasterise(svg);
  });

  it('without a username: "?" and a generic label', async () => {
    const svg = renderPlaceholder({ id: '7' });
    expect(svg).toContain('>?</text>');
    expect(svg).toContain('aria-label="Avatar"');
    await rasterise(svg);
  });

  it('is what the service’s placeholder() returns', () => {
    const { pictures } = createTestService();
    expect(pictures.placeholder({ id: '9', username: 'zoë' })).toBe(renderPlaceholder({ id: '9', username: 'zoë' }));
  });
});
