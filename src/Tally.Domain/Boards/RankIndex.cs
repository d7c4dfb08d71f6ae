using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tally.Domain.Boards;

/// <summary>One member's place in a <see cref="RankIndex"/>.</summary>
public readonly record struct RankEntry(int Member, decimal Score, long Reached);

/// <summary>
/// An order-statistic index over a board's cells: add, move, remove and rank in O(log n), a page at any offset in
/// O(log n + k). Order: higher score first; equal scores by who reached the score first (<c>reached</c> is the id of
/// the event that made the score, unique per user, so two users never tie on it); then member, only as a last resort.
/// <para>
/// A treap kept in 48-byte structs linked by slot numbers, in chunks of about 1 MiB (<see cref="ChunkedArray{T}"/>): the
/// GC sees a few large objects without references however large the board grows, and growing copies at most the last
/// chunk. A node is the member's whole cell (score, actions, reached, version), so a board keeps no second copy, only
/// each member's slot. Scores are held as longs of 1/10,000 while exact there (<see cref="DecimalUnits"/>) and
/// compared as longs; a score that is not is kept as a decimal on the side. A node's heap priority is a hash of its
/// member, so no bytes are spent storing that either.
/// </para>
/// <para>
/// Adds and moves are recorded and placed by the next read, so a board written far more often than it is
/// read does not pay two descents per write: when many are waiting (a sixteenth of the members or more) the
/// tree is rebuilt in one linear pass over the members in order, the moved ones sorted and merged in; when
/// few are, each is placed by itself. Every read sees every write made before it. Waiting writes are
/// bounded (an eighth of the members, at least 256 and at most 16,384): past that the write itself places them, so
/// the table of waiting writes costs at most a few bytes per member.
/// </para>
/// </summary>
public sealed class RankIndex
{
    private const int None = -1;
    private const long Inexact = long.MinValue;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct Node
    {
        // The score the tree has the node at, in units of 1/10,000, or Inexact with the decimal in _inexact.
        public long Units;
        public long Reached;
        // The cell's other fields, current even while a move waits: they do not decide the order.
        public long Actions;
        public long Version;
        public int Member;
        public int Left;
        public int Right;
        public int Size;
    }

    /// <summary>A new position not yet placed in the tree; the node keeps the one the tree has it at (none if <c>Added</c>).</summary>
    private readonly record struct Pending(decimal Score, long Reached, bool Added);

    /// <summary>Most writes that wait for a read; more are placed by the write.</summary>
    private const int MaxPending = 16_384;
    private const int MinPending = 256;
    // A rebuild costs about as much per member as a placement per waiting write does per tree level.
    private const int RebuildAtOneIn = 16;

    private ChunkedArray<Node> _nodes;
    private int _used;
    private int _free = None;
    private int _root = None;
    private readonly Dictionary<int, Pending> _pending = new();
    // Placed scores that are not a whole number of units, by slot; almost always empty.
    private Dictionary<int, decimal>? _inexact;

    /// <summary>How members that tie on score and reached order (<see cref="RankOrder"/>: by user id, which the board knows
    /// and the index does not); by member number when not given.</summary>
    private readonly Comparison<int>? _tieBreak;

    /// <param name="capacity">Members to make room for at once.</param>
    /// <param name="tieBreak">The order of two members that tie on score and reached: their user ids' (ordinal), so the
    /// index orders exactly as <see cref="RankOrder.Compare"/> does.</param>
    public RankIndex(int capacity = 16, Comparison<int>? tieBreak = null)
    {
        _nodes = new ChunkedArray<Node>(Math.Max(capacity, 4));
        _tieBreak = tieBreak;
    }

    /// <summary>Members in the index.</summary>
    public int Count
    {
        get
        {
            Settle();
            return SizeOf(_root);
        }
    }

    /// <summary>Adds a member at a position with no other cell fields (actions and version 0).</summary>
    public int Add(int member, decimal score, long reached) => Add(member, new BoardCell(score, 0, reached, 0));

    /// <summary>Adds a member's cell and returns its slot, the handle for <see cref="Move(int, in BoardCell)"/>, <see cref="Remove"/> and <see cref="RankOf"/>.</summary>
    public int Add(int member, in BoardCell cell)
    {
        var slot = Allocate();
        ref var n = ref _nodes[slot];
        n.Member = member;
        n.Actions = cell.Actions;
        n.Version = cell.Version;
        _pending[slot] = new Pending(cell.Score, cell.Reached, Added: true);
        SettleIfManyWait();
        return slot;
    }

    /// <summary>
    /// Adds many members' cells at once and writes their slots, in input order, to <paramref name="slots"/>.
    /// Into an empty index this is a sort and a linear build (the treap for the sorted members and their
    /// priorities is unique, so it is the tree the adds would have made), several times cheaper than
    /// adding one by one: a shard rebuilding from saved states fills its boards this way.
    /// </summary>
    public void AddMany(ReadOnlySpan<(int Member, BoardCell Cell)> cells, Span<int> slots)
    {
        if (slots.Length < cells.Length) throw new ArgumentException("One slot per cell is needed.", nameof(slots));
        if (_used != 0)
        {
            for (var i = 0; i < cells.Length; i++) slots[i] = Add(cells[i].Member, in cells[i].Cell);
            return;
        }
        var n = cells.Length;
        if (n == 0) return;
        _nodes.EnsureCapacity(n);
        var order = new int[n];
        for (var i = 0; i < n; i++)
        {
            ref var node = ref _nodes[i];
            node.Member = cells[i].Member;
            node.Actions = cells[i].Cell.Actions;
            node.Version = cells[i].Cell.Version;
            Place(i, cells[i].Cell.Score, cells[i].Cell.Reached);
            slots[i] = order[i] = i;
        }
        _used = n;
        SortByRank(order);
        Build(order);
    }

    private void SortByRank(Span<int> slots) => slots.Sort((a, b) => a == b ? 0 : Before(a, b) ? -1 : 1);

    /// <summary>
    /// Links the given slots, already in rank order, into the treap their priorities make (it is unique, so it is
    /// the tree one insert at a time would have made), in linear time.
    /// </summary>
    private void Build(ReadOnlySpan<int> order)
    {
        if (order.Length == 0)
        {
            _root = None;
            return;
        }
        // The right spine of the tree built so far; a node leaves it when one of higher priority
        // arrives, and then its subtree is complete, so its size is known.
        var spine = ArrayPool<int>.Shared.Rent(order.Length);
        var top = 0;
        foreach (var x in order)
        {
            var last = None;
            while (top > 0 && HigherPriority(x, spine[top - 1]))
            {
                last = spine[--top];
                Complete(last);
            }
            _nodes[x].Left = last;
            _nodes[x].Right = None;
            if (top > 0) _nodes[spine[top - 1]].Right = x;
            spine[top++] = x;
        }
        while (top > 1) Complete(spine[--top]);
        Complete(spine[0]);
        _root = spine[0];
        ArrayPool<int>.Shared.Return(spine);
    }

    private void Complete(int t) => _nodes[t].Size = 1 + SizeOf(_nodes[t].Left) + SizeOf(_nodes[t].Right);

    /// <summary>Moves a member to a new position, other cell fields unchanged; its slot stays the same.</summary>
    public void Move(int slot, decimal score, long reached)
    {
        ref var n = ref _nodes[slot];
        Move(slot, new BoardCell(score, n.Actions, reached, n.Version));
    }

    /// <summary>Replaces a member's cell and returns the one it had; its slot stays the same.</summary>
    public BoardCell Move(int slot, in BoardCell cell)
    {
        ref var n = ref _nodes[slot];
        // One hash lookup for a member already waiting and for one that starts to.
        ref var waiting = ref CollectionsMarshal.GetValueRefOrAddDefault(_pending, slot, out var wasWaiting);
        BoardCell old;
        if (wasWaiting)
        {
            old = new BoardCell(waiting.Score, n.Actions, waiting.Reached, n.Version);
            waiting = waiting with { Score = cell.Score, Reached = cell.Reached };
        }
        else
        {
            old = new BoardCell(ScoreAt(slot), n.Actions, n.Reached, n.Version);
            if (n.Reached == cell.Reached && IsAt(slot, cell.Score))
                _pending.Remove(slot); // unmoved: nothing to place
            else waiting = new Pending(cell.Score, cell.Reached, Added: false);
        }
        n.Actions = cell.Actions;
        n.Version = cell.Version;
        if (!wasWaiting) SettleIfManyWait();
        return old;
    }

    public void Remove(int slot)
    {
        // An added member not placed yet is not in the tree.
        if (!(_pending.Remove(slot, out var waiting) && waiting.Added)) _root = Erase(_root, slot);
        _inexact?.Remove(slot);
        _nodes[slot].Size = 0;
        _nodes[slot].Left = _free;
        _free = slot;
    }

    /// <summary>The member's current position, moves still waiting included.</summary>
    public RankEntry Get(int slot)
    {
        var cell = CellOf(slot);
        return new(_nodes[slot].Member, cell.Score, cell.Reached);
    }

    /// <summary>The member's current cell, moves still waiting included; places nothing.</summary>
    public BoardCell CellOf(int slot)
    {
        ref var n = ref _nodes[slot];
        if (_pending.Count > 0 && _pending.TryGetValue(slot, out var waiting))
            return new BoardCell(waiting.Score, n.Actions, waiting.Reached, n.Version);
        return new BoardCell(ScoreAt(slot), n.Actions, n.Reached, n.Version);
    }

    /// <summary>The version of the member's cell, without building the cell.</summary>
    public long VersionOf(int slot) => _nodes[slot].Version;

    /// <summary>1-based ordinal rank of the member in <paramref name="slot"/>.</summary>
    public int RankOf(int slot)
    {
        Settle();
        var rank = 0;
        var t = _root;
        while (t != None)
        {
            ref var n = ref _nodes[t];
            if (t == slot) return rank + SizeOf(n.Left) + 1;
            if (Before(slot, t)) t = n.Left;
            else
            {
                rank += SizeOf(n.Left) + 1;
                t = n.Right;
            }
        }
        throw new InvalidOperationException("Rank index is corrupt: a slot is not in the tree.");
    }

    /// <summary>How many members order strictly before a (score, reached) position, e.g. another shard's member.</summary>
    public int CountBefore(decimal score, long reached, int member = int.MinValue)
    {
        Settle();
        var units = DecimalUnits.TryFrom(score, out var u) ? u : Inexact;
        var count = 0;
        var t = _root;
        while (t != None)
        {
            ref var n = ref _nodes[t];
            // The position itself is not before itself: compared by reached and member first, which rarely tie, so the
            // scores are compared only when they might be equal.
            if (Before(units, score, reached, member, t) || (n.Reached == reached && n.Member == member && IsAt(t, score))) t = n.Left;
            else
            {
                count += SizeOf(n.Left) + 1;
                t = n.Right;
            }
        }
        return count;
    }

    /// <summary>Appends up to <paramref name="limit"/> entries starting at 0-based <paramref name="offset"/>, best first.</summary>
    public void Page(int offset, int limit, List<RankEntry> into)
    {
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
        Settle();
        var skip = offset;
        var take = limit;
        Collect(_root, ref skip, ref take, into);
    }

    private void SettleIfManyWait()
    {
        if (_pending.Count >= MaxPending || _pending.Count >= MinPending && _pending.Count >= SizeOf(_root) / 8) Settle();
    }

    /// <summary>Places every waiting add and move: one by one when few wait, else by rebuilding the tree.</summary>
    private void Settle()
    {
        if (_pending.Count == 0) return;
        if ((long)_pending.Count * RebuildAtOneIn >= SizeOf(_root)) Rebuild();
        else
            foreach (var (slot, waiting) in _pending)
            {
                if (!waiting.Added) _root = Erase(_root, slot);
                Place(slot, waiting.Score, waiting.Reached);
                _root = Insert(_root, slot);
            }
        _pending.Clear();
    }

    private void Place(int slot, decimal score, long reached)
    {
        ref var n = ref _nodes[slot];
        if (DecimalUnits.TryFrom(score, out var units))
        {
            n.Units = units;
            _inexact?.Remove(slot);
        }
        else
        {
            n.Units = Inexact;
            (_inexact ??= new Dictionary<int, decimal>())[slot] = score;
        }
        n.Reached = reached;
        n.Left = n.Right = None;
        n.Size = 1;
    }

    private decimal ScoreAt(int t) => _nodes[t].Units is var u && u != Inexact ? DecimalUnits.ToDecimal(u) : _inexact![t];

    private bool IsAt(int t, decimal score) =>
        _nodes[t].Units != Inexact && DecimalUnits.TryFrom(score, out var units) ? units == _nodes[t].Units : ScoreAt(t) == score;

    /// <summary>
    /// The members in the tree in order, less the moved ones; the waiting ones sorted at their new positions; the
    /// two merged; the tree built again over the merge. Slots do not change.
    /// </summary>
    private void Rebuild()
    {
        var order = ArrayPool<int>.Shared.Rent(SizeOf(_root) + _pending.Count);
        var waiting = ArrayPool<int>.Shared.Rent(_pending.Count);
        var inTree = 0;
        InOrder(_root, order, ref inTree);
        var w = 0;
        foreach (var (slot, pending) in _pending)
        {
            Place(slot, pending.Score, pending.Reached);
            _nodes[slot].Size = 0; // marks it among the tree's old order, which is dropped below
            waiting[w++] = slot;
        }
        var kept = 0;
        for (var i = 0; i < inTree; i++)
            if (_nodes[order[i]].Size != 0) order[kept++] = order[i];
        SortByRank(waiting.AsSpan(0, w));
        // Merged from the back, in place: the kept members fill the front of the same array.
        var (a, b, to) = (kept - 1, w - 1, kept + w - 1);
        while (b >= 0)
            order[to--] = a >= 0 && Before(waiting[b], order[a]) ? order[a--] : waiting[b--];
        Build(order.AsSpan(0, kept + w));
        ArrayPool<int>.Shared.Return(order);
        ArrayPool<int>.Shared.Return(waiting);
    }

    private void InOrder(int t, int[] into, ref int count)
    {
        while (t != None)
        {
            InOrder(_nodes[t].Left, into, ref count);
            into[count++] = t;
            t = _nodes[t].Right;
        }
    }

    /// <summary>Bytes held by the node array, the table of waiting writes (about 52 bytes a place) and inexact scores, for
    /// the benchmark.</summary>
    public long AllocatedBytes =>
        _nodes.AllocatedBytes(Marshal.SizeOf<Node>()) + _pending.EnsureCapacity(0) * 52L + (_inexact?.EnsureCapacity(0) ?? 0) * 36L;

    private void Collect(int t, ref int skip, ref int take, List<RankEntry> into)
    {
        while (t != None && take > 0)
        {
            ref var n = ref _nodes[t];
            var leftSize = SizeOf(n.Left);
            if (skip > leftSize)
            {
                skip -= leftSize + 1;
                t = n.Right;
                continue;
            }
            Collect(n.Left, ref skip, ref take, into);
            if (take == 0) return;
            if (skip > 0) skip--;
            else
            {
                into.Add(new RankEntry(n.Member, ScoreAt(t), n.Reached));
                take--;
            }
            t = n.Right;
        }
    }

    // A position (score as units, or Inexact with the decimal) orders before node t by RankOrder: scores compare as longs
    // when both are whole units, else as decimals (off the hot path). A full tie, which distinct event ids never make,
    // goes to the tie-break (user ids); int.MinValue stands for a position from elsewhere that orders before every
    // member it ties with.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Before(long units, decimal score, long reached, int member, int t)
    {
        ref var n = ref _nodes[t];
        if (units != n.Units) return units != Inexact && n.Units != Inexact ? units > n.Units : ScoreBefore(score, reached, member, t);
        if (units == Inexact) return ScoreBefore(score, reached, member, t);
        return TieBefore(reached, member, in n);
    }

    // Node x orders before node t.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Before(int x, int t)
    {
        ref var a = ref _nodes[x];
        ref var n = ref _nodes[t];
        if (a.Units != n.Units) return a.Units != Inexact && n.Units != Inexact ? a.Units > n.Units : ScoreBefore(ScoreAt(x), a.Reached, a.Member, t);
        if (a.Units == Inexact) return ScoreBefore(ScoreAt(x), a.Reached, a.Member, t);
        return TieBefore(a.Reached, a.Member, in n);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ScoreBefore(decimal score, long reached, int member, int t)
    {
        var other = ScoreAt(t);
        return score != other ? score > other : TieBefore(reached, member, in _nodes[t]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TieBefore(long reached, int member, in Node n)
    {
        if (reached != n.Reached) return reached < n.Reached;
        if (member == n.Member) return false;
        return member == int.MinValue || (_tieBreak is null ? member < n.Member : _tieBreak(member, n.Member) < 0);
    }

    private int SizeOf(int t) => t == None ? 0 : _nodes[t].Size;

    private static uint Priority(int member)
    {
        // A 32-bit finaliser (murmur3 fmix): members in any order still give a balanced treap.
        var h = (uint)member;
        h ^= h >> 16;
        h *= 0x85ebca6b;
        h ^= h >> 13;
        h *= 0xc2b2ae35;
        h ^= h >> 16;
        return h;
    }

    private bool HigherPriority(int a, int b)
    {
        var pa = Priority(_nodes[a].Member);
        var pb = Priority(_nodes[b].Member);
        return pa != pb ? pa > pb : _nodes[a].Member < _nodes[b].Member;
    }

    private int Allocate()
    {
        if (_free != None)
        {
            var slot = _free;
            _free = _nodes[slot].Left;
            return slot;
        }
        _nodes.EnsureCapacity(_used + 1);
        return _used++;
    }

    private int Insert(int t, int x)
    {
        if (t == None) return x;
        if (HigherPriority(x, t))
        {
            ref var nx = ref _nodes[x];
            Split(t, x, out nx.Left, out nx.Right);
            _nodes[x].Size = 1 + SizeOf(_nodes[x].Left) + SizeOf(_nodes[x].Right);
            return x;
        }
        if (Before(x, t))
            _nodes[t].Left = Insert(_nodes[t].Left, x);
        else
            _nodes[t].Right = Insert(_nodes[t].Right, x);
        _nodes[t].Size++;
        return t;
    }

    private int Erase(int t, int x)
    {
        if (t == x) return Merge(_nodes[t].Left, _nodes[t].Right);
        if (t == None) throw new InvalidOperationException("Rank index is corrupt: erasing a slot not in the tree.");
        if (Before(x, t))
            _nodes[t].Left = Erase(_nodes[t].Left, x);
        else
            _nodes[t].Right = Erase(_nodes[t].Right, x);
        _nodes[t].Size--;
        return t;
    }

    // Splits t into the nodes before x and the rest.
    private void Split(int t, int x, out int before, out int after)
    {
        if (t == None)
        {
            before = after = None;
            return;
        }
        if (Before(x, t))
        {
            Split(_nodes[t].Left, x, out before, out var rest);
            _nodes[t].Left = rest;
            after = t;
        }
        else
        {
            Split(_nodes[t].Right, x, out var rest, out after);
            _nodes[t].Right = rest;
            before = t;
        }
        _nodes[t].Size = 1 + SizeOf(_nodes[t].Left) + SizeOf(_nodes[t].Right);
    }

    private int Merge(int a, int b)
    {
        if (a == None) return b;
        if (b == None) return a;
        if (HigherPriority(a, b))
        {
            _nodes[a].Right = Merge(_nodes[a].Right, b);
            _nodes[a].Size = 1 + SizeOf(_nodes[a].Left) + SizeOf(_nodes[a].Right);
            return a;
        }
        _nodes[b].Left = Merge(a, _nodes[b].Left);
        _nodes[b].Size = 1 + SizeOf(_nodes[b].Left) + SizeOf(_nodes[b].Right);
        return b;
    }
}
