/**
 * The widget's crop geometry (src/client/crop.ts), without a browser: the square stays inside the image, between
 * the shortest allowed side and the image's short side, zooms around its anchor, and rounds to a rectangle the
 * server accepts (integers, inside the image, no shorter than `minSide`).
 */
import { describe, expect, it } from 'vitest';
import {
  cropBounds,
  cropFields,
  cropZoom,
  fullCrop,
  maxZoom,
  moveCrop,
  roundCrop,
  zoomCrop,
} from '../../src/client/crop.js';

const photo = cropBounds(1600, 1200, 16); // a 4:3 photo, the server's default minSide

describe('crop geometry', () => {
  it('starts at the centred square of the short side, the square the server takes by default', () => {
    expect(fullCrop(photo)).toEqual({ left: 200, top: 0, width: 1200, height: 1200 });
    expect(fullCrop(cropBounds(300, 400, 16))).toEqual({ left: 0, top: 50, width: 300, height: 300 });
    expect(cropZoom(fullCrop(photo), photo)).toBe(1);
  });

  it('stops zooming at a tenth of the short side, or at minSide when that is larger', () => {
    expect(photo.minSide).toBe(120);
    expect(maxZoom(photo)).toBe(10);
    const small = cropBounds(100, 80, 32);
    expect(small.minSide).toBe(32);
    expect(zoomCrop(fullCrop(small), 100, small).width).toBe(32);
    // An image exactly minSide short cannot be zoomed at all.
    expect(maxZoom(cropBounds(40, 16, 16))).toBe(1);
  });

  it('zooms around the centre by default and around an anchor that stays put', () => {
    expect(zoomCrop(fullCrop(photo), 2, photo)).toEqual({ left: 500, top: 300, width: 600, height: 600 });
    // Anchor at the square's top-left corner: that corner stays where it is.
    const start = { left: 400, top: 200, width: 800, height: 800 };
    expect(zoomCrop(start, 2, photo, { x: 400, y: 200 })).toEqual({ left: 400, top: 200, width: 400, height: 400 });
    // Zooming out past the whole square stops there, pushed back inside the image.
    expect(zoomCrop({ left: 0, top: 0, width: 600, height: 600 }, 0.1, photo)).toEqual({ left: 0, top: 0, width: 1200, height: 1200 });
  });

  it('moves within the image and stops at its edges', () => {
    const square = { left: 500, top: 300, width: 600, height: 600 };
    expect(moveCrop(square, 100, -50, photo)).toEqual({ left: 600, top: 250, width: 600, height: 600 });
    expect(moveCrop(square, 5000, 5000, photo)).toEqual({ left: 1000, top: 600, width: 600, height: 600 });
    expect(moveCrop(square, -5000, -5000, photo)).toEqual({ left: 0, top: 0, width: 600, height: 600 });
  });

  it('rounds to whole pixels that still fit the image and the minimum side', () => {
    expect(roundCrop({ left: 999.6, top: 599.7, width: 600.4, height: 600.4 }, photo)).toEqual({
      left: 1000,
      top: 600,
      width: 600,
      height: 600,
    });
    // A side rounded up may not push the square out of the image: it moves back in.
    expect(roundCrop({ left: 999.4, top: 0, width: 600.5, height: 600.5 }, photo)).toEqual({
      left: 999,
      top: 0,
      width: 601,
      height: 601,
    });
    expect(roundCrop({ left: 0, top: 0, width: 119.4, height: 119.4 }, photo).width).toBe(120);
  });

  it('names the fields the server reads', () => {
    expect(cropFields({ left: 1, top: 2, width: 300, height: 300 })).toEqual({
      crop_left: '1',
      crop_top: '2',
      crop_width: '300',
      crop_height: '300',
    });
  });
});
