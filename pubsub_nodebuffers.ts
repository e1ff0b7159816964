// pubsub_nodebuffers.ts — the history nodes' buffers, recycled: byte pages and row tables of fixed sizes, taken as nodes
// fill and given back when trimming removes a node, so a steady flow of XADDs makes nothing the collector must free.
//
// Why: buffers made per node and dropped when the node was trimmed cost the store more CPU than the rest of an XADD. In a
// webhook's paced load (bench/storemix.ts) a throwaway build that wrote pages and rows into shared buffers, instead of
// buffers made per node, took 11.8 µs per POST against 18.9 µs, and 0.06 page faults per POST against 0.24 (its
// rewrites also wrote less). This pool took the real store to 14.9 and 16.1 µs against 18.2 and 17.3 in two runs.

/**
 * A filling node's pages are this many bytes (an entry larger than that gets a page of its own, never recycled). 8 KB:
 * about one node of a webhook's entries, so a node holds one or two. Pages and tables are views of 1 MB slabs, whose
 * bytes JSC keeps outside the collector's heap. With 960-byte pages, each its own array in that heap, recycling
 * measured no gain.
 */
export const PAGE_BYTES = 8192;

const SLAB_BYTES = 1 << 20;
const NO_SLAB = new Uint8Array(0);
const NO_TABLE_SLAB = new Uint32Array(0);

export class NodeBuffers {
  /**
   * Everything given back is kept, with no cap: a page is a view of a slab that its neighbours keep alive, so one
   * dropped would waste its bytes for as long as the slab lives. The pool holds what the history held at its peak.
   */
  private readonly pages: Uint8Array[] = [];
  private readonly tables: Uint32Array[] = [];
  /**
   * Held while something still reads the pages of nodes that trimming may remove (a rewrite's snapshot of the streams):
   * whatever is given back meanwhile waits here, and is reused once the last hold is released.
   */
  private holds = 0;
  private heldPages: Uint8Array[] = [];
  private heldTables: Uint32Array[] = [];
  /** New buffers are carved from slabs: one allocation per SLAB_BYTES rather than one per page or table. */
  private pageSlab = NO_SLAB;
  private pageSlabAt = 0;
  private tableSlab = NO_TABLE_SLAB;
  private tableSlabAt = 0;

  /** `tableSlots`: the size of a full node's row table. */
  constructor(readonly tableSlots: number) {}

  /** A page of PAGE_BYTES; its old bytes are left as they are (a node writes before it reads). */
  page(): Uint8Array {
    const p = this.pages.pop();
    if (p !== undefined) return p;
    if (this.pageSlabAt + PAGE_BYTES > this.pageSlab.length) {
      this.pageSlab = new Uint8Array(SLAB_BYTES);
      this.pageSlabAt = 0;
    }
    this.pageSlabAt += PAGE_BYTES;
    return this.pageSlab.subarray(this.pageSlabAt - PAGE_BYTES, this.pageSlabAt);
  }
  /** A full node's row table. */
  table(): Uint32Array {
    const t = this.tables.pop();
    if (t !== undefined) return t;
    if (this.tableSlabAt + this.tableSlots > this.tableSlab.length) {
      this.tableSlab = new Uint32Array(SLAB_BYTES >> 2);
      this.tableSlabAt = 0;
    }
    this.tableSlabAt += this.tableSlots;
    return this.tableSlab.subarray(this.tableSlabAt - this.tableSlots, this.tableSlabAt);
  }

  /** A removed node's page: kept when it has the pool's size; reused at once, or after the holds when held. */
  givePage(p: Uint8Array): void {
    if (p.length === PAGE_BYTES) (this.holds === 0 ? this.pages : this.heldPages).push(p);
  }
  giveTable(t: Uint32Array): void {
    if (t.length === this.tableSlots) (this.holds === 0 ? this.tables : this.heldTables).push(t);
  }

  hold(): void {
    this.holds++;
  }
  release(): void {
    if (this.holds === 0 || --this.holds > 0) return;
    for (const p of this.heldPages) this.pages.push(p);
    for (const t of this.heldTables) this.tables.push(t);
    this.heldPages = [];
    this.heldTables = [];
  }

  /** Buffers waiting for reuse, held ones included (the tests read it). */
  get kept(): { pages: number; tables: number } {
    return { pages: this.pages.length + this.heldPages.length, tables: this.tables.length + this.heldTables.length };
  }
}
