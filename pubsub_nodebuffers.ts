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

/** Kept for reuse at most: what trimming a few hundred full nodes at once gives back (4 MB and 1 MB). */
const KEEP_PAGES = 512;
const KEEP_TABLES = 384;

const SLAB_BYTES = 1 << 20;
const NO_SLAB = new Uint8Array(0);

export class NodeBuffers {
  private readonly pages: Uint8Array[] = [];
  private readonly tables: Uint32Array[] = [];
  /**
   * Held while something still reads the pages of nodes that trimming may remove (a rewrite's snapshot of the streams):
   * whatever is given back meanwhile is left to the collector, never reused.
   */
  private holds = 0;
  /** New buffers are carved from slabs: one allocation per SLAB_BYTES rather than one per page or table. */
  private pageSlab = NO_SLAB;
  private pageSlabAt = 0;
  private tableSlab = new Uint32Array(0);
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

  /** A removed node's page: kept when it is one of ours and nothing may still read it. */
  givePage(p: Uint8Array): void {
    if (this.holds === 0 && p.length === PAGE_BYTES && this.pages.length < KEEP_PAGES) this.pages.push(p);
  }
  giveTable(t: Uint32Array): void {
    if (this.holds === 0 && t.length === this.tableSlots && this.tables.length < KEEP_TABLES) this.tables.push(t);
  }

  hold(): void {
    this.holds++;
  }
  release(): void {
    if (this.holds > 0) this.holds--;
  }

  /** Buffers waiting for reuse (the tests read it). */
  get kept(): { pages: number; tables: number } {
    return { pages: this.pages.length, tables: this.tables.length };
  }
}
