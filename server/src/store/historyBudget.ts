/**
 * One memory budget for every session of a telemetry server (`reactorscope.historyMemoryMb`), not one per
 * session: twenty restored recordings share it with the live apps instead of holding twenty budgets.
 *
 * Each SessionStore is a member and says what it holds (its estimateMemoryBytes()) after every frame. While the
 * total is over the budget, the oldest chunk of history goes, the sessions that ended first: an ended session's
 * chunks, oldest first, down to none; then a live (or waiting) session's, oldest first, never the chunk it is
 * filling. What is not history (statistics, stall stacks, gauge series) is counted and never dropped from a
 * session that stays; with every history gone and the total still over, `evict` is asked to forget a whole ended
 * session (the server forgets the oldest, as Clear would), until the total fits or none is left. A member counts
 * the events it drops (SessionStore.droppedEvents); the server's note and the timeline say so.
 */

export interface BudgetMember {
  /** Everything the member holds, in bytes. */
  estimateMemoryBytes(): number;
  /**
   * The age (a HistoryBudget.nextAge() number) of the oldest chunk of history the member may give up, undefined
   * when it has none: every chunk when `keepNewest` is false, all but the newest when true.
   */
  oldestChunkAge(keepNewest: boolean): number | undefined;
  /** Drops that chunk, counting its events as dropped. */
  dropOldestChunk(): void;
}

interface Membership {
  bytes: number;
  /** Whether the member's session has ended: its history goes before any live session's. */
  ended: () => boolean;
}

export class HistoryBudget {
  private readonly members = new Map<BudgetMember, Membership>();
  private total = 0;
  private ages = 0;

  /**
   * `evict`: forgets one whole ended session (which leaves the budget), true if there was one. Without it, what
   * is not history can keep the total over the cap.
   */
  constructor(
    private capBytes: number,
    private readonly evict?: () => boolean,
  ) {}

  /** What every member holds together, as each last said. */
  get totalBytes(): number {
    return this.total;
  }

  get cap(): number {
    return this.capBytes;
  }

  /** A new cap (the setting changed): applied at once. */
  setCap(capBytes: number): void {
    this.capBytes = capBytes;
    this.enforce(undefined);
  }

  join(member: BudgetMember, ended: () => boolean = () => false): void {
    if (this.members.has(member)) return;
    const bytes = member.estimateMemoryBytes();
    this.members.set(member, { bytes, ended });
    this.total += bytes;
  }

  /** The member's session is forgotten (Clear): what it held no longer counts. */
  leave(member: BudgetMember): void {
    const membership = this.members.get(member);
    if (!membership) return;
    this.total -= membership.bytes;
    this.members.delete(member);
  }

  /** A number for a new chunk: a chunk with a smaller one is older, whichever session it belongs to. */
  nextAge(): number {
    return this.ages++;
  }

  /**
   * The member's size changed: takes its new size, then drops the oldest history while the total is over the
   * budget. The member's own newest chunk stays: it may be the one it is filling.
   */
  settle(member: BudgetMember): void {
    this.measure(member);
    this.enforce(member);
  }

  private measure(member: BudgetMember): void {
    const membership = this.members.get(member);
    if (!membership) return;
    const bytes = member.estimateMemoryBytes();
    this.total += bytes - membership.bytes;
    membership.bytes = bytes;
  }

  private enforce(filling: BudgetMember | undefined): void {
    while (this.total > this.capBytes) {
      const victim = this.oldest(filling);
      if (!victim) {
        if (this.evict?.()) continue;
        return;
      }
      victim.dropOldestChunk();
      this.measure(victim);
    }
  }

  /** The member with the oldest chunk that may go: an ended session's before a live one's. */
  private oldest(filling: BudgetMember | undefined): BudgetMember | undefined {
    let best: BudgetMember | undefined;
    let bestEnded = false;
    let bestAge = Infinity;
    for (const [member, { ended }] of this.members) {
      const isEnded = ended();
      const age = member.oldestChunkAge(member === filling || !isEnded);
      if (age === undefined) continue;
      if ((isEnded && !bestEnded) || (isEnded === bestEnded && age < bestAge)) {
        best = member;
        bestEnded = isEnded;
        bestAge = age;
      }
    }
    return best;
  }
}
