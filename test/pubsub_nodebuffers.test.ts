// test/pubsub_nodebuffers.test.ts — pubsub_nodebuffers.ts on its own: pages and row tables are reused once given back,
// only buffers of its own sizes are kept, no more than its caps, and nothing given back while held is ever reused.
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

  test("while held (a rewrite reads the pages), nothing given back is reused; afterwards, reuse resumes", () => {
    const b = new NodeBuffers(700);
    const p = b.page();
    b.hold();
    b.hold();
    b.givePage(p);
    b.giveTable(b.table());
    b.release();
    b.givePage(b.page()); // still held once
    expect(b.kept).toEqual({ pages: 0, tables: 0 });
    b.release();
    b.release(); // one release too many changes nothing
    const q = b.page();
    b.givePage(q);
    expect(b.page()).toBe(q);
    b.hold();
    b.release();
    b.givePage(q);
    expect(b.kept.pages).toBe(1);
  });

  test("keeps at most its caps, so a mass trim does not hold its memory for ever", () => {
    const b = new NodeBuffers(700);
    const pages = Array.from({ length: 2000 }, () => b.page());
    const tables = Array.from({ length: 1000 }, () => b.table());
    for (const p of pages) b.givePage(p);
    for (const t of tables) b.giveTable(t);
    const kept = b.kept;
    expect(kept.pages).toBeGreaterThan(0);
    expect(kept.pages).toBeLessThan(2000);
    expect(kept.tables).toBeGreaterThan(0);
    expect(kept.tables).toBeLessThan(1000);
    expect(kept.pages * PAGE_BYTES).toBeLessThanOrEqual(4 * 1024 * 1024);
  });
});
