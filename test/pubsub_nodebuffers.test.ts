// test/pubsub_nodebuffers.test.ts — pubsub_nodebuffers.ts on its own: pages and row tables are reused once given back,
// only buffers of its own sizes are kept, all of them, and nothing given back while held is reused before the release.
import { describe, expect, test } from "bun:test";
import { NodeBuffers, PAGE_BYTES } from "../pubsub_nodebuffers";

describe("NodeBuffers", () => {
  test("a page or table given back is the next one taken; new ones have the pool's sizes", () => {
    const b = new NodeBuffers(700);
    const p = b.page();
    const t = b.table();
    expect([p.length, t.length]).toEqual([PAGE_BYTES, 700]);
    b.givePage(p);
    b.giveTable(t);
    expect(b.kept).toEqual({ pages: 1, tables: 1 });
    expect(b.page()).toBe(p);
    expect(b.table()).toBe(t);
    expect(b.kept).toEqual({ pages: 0, tables: 0 });
    expect(b.page()).not.toBe(p); // the pool is empty: a new page
  });

  test("buffers of other sizes (a node's own first pages, an entry's own page, a small table) are not kept", () => {
    const b = new NodeBuffers(700);
    b.givePage(new Uint8Array(960));
    b.givePage(new Uint8Array(PAGE_BYTES + 1));
    b.giveTable(new Uint32Array(56));
    expect(b.kept).toEqual({ pages: 0, tables: 0 });
  });

  test("while held (a rewrite reads the pages), what is given back waits; once the last hold is released it is reused", () => {
    const b = new NodeBuffers(700);
    const p = b.page();
    const t = b.table();
    b.hold();
    b.hold();
    b.givePage(p);
    b.giveTable(t);
    expect(b.page()).not.toBe(p); // held: a new page, not the one given back
    expect(b.table()).not.toBe(t);
    b.release();
    expect(b.page()).not.toBe(p); // still held once
    b.release();
    expect(b.page()).toBe(p); // the last hold is gone: reused
    expect(b.table()).toBe(t);
    b.release(); // one release too many changes nothing
    b.givePage(p);
    expect(b.page()).toBe(p);
  });

  test("keeps everything it is given back (a dropped view would waste its slab's bytes), and carves new ones from slabs", () => {
    const b = new NodeBuffers(700);
    const pages = Array.from({ length: 2000 }, () => b.page());
    expect(new Set(pages.map((p) => p.buffer)).size).toBe(Math.ceil((2000 * PAGE_BYTES) / (1 << 20))); // 1 MB slabs
    for (const p of pages) b.givePage(p);
    const tables = Array.from({ length: 1000 }, () => b.table());
    for (const t of tables) b.giveTable(t);
    expect(b.kept).toEqual({ pages: 2000, tables: 1000 });
  });
});
