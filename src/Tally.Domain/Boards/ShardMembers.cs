using System.Runtime.InteropServices;

namespace Tally.Domain.Boards;

/// <summary>
/// The users one board shard knows, each under a small member number its boards key their cells by: the user id
/// behind each number, the newest user version (event id) the shard applied for it, and the removals that must
/// keep older cells out (decision 012). Members are never forgotten within an activation: a number stays the same
/// user's, so board entries never need rewriting.
/// <para>
/// About 40 bytes a member for an 8-character id, where a string per member in a dictionary and two lists took about
/// 120: the ids sit back to back in one array of characters, and numbers are found by an open-addressing table of
/// (hash, number) pairs. Only <see cref="UserId"/> makes a string, for an answer.
/// </para>
/// </summary>
public sealed class ShardMembers
{
    private const int Free = -1;

    [StructLayout(LayoutKind.Sequential)]
    private struct Pair
    {
        public int Hash;
        public int Member;
    }

    private char[] _chars = new char[64];
    private int _charsUsed;
    // Member m's id is _chars[_starts[m] .. _starts[m + 1]].
    private int[] _starts = new int[9];
    private long[] _versions = new long[8];
    private int _count;
    private Pair[] _table = NewTable(16);
    private readonly Dictionary<int, long> _erasedThrough = new();

    public ShardMembers() => ByUserId = (a, b) => IdOf(a).SequenceCompareTo(IdOf(b));

    /// <summary>Members tying on score and reached ordered by user id (<see cref="RankOrder"/>), as the cross-shard merge orders them.</summary>
    public Comparison<int> ByUserId { get; }

    public int Count => _count;

    /// <summary>The user's member number, given on first sight.</summary>
    public int Of(string userId)
    {
        var hash = Hash(userId);
        var i = Find(userId, hash);
        if (_table[i].Member != Free) return _table[i].Member;
        var member = Append(userId);
        _table[i] = new Pair { Hash = hash, Member = member };
        if (_count > _table.Length - _table.Length / 5) Rehash(_table.Length + _table.Length / 2);
        return member;
    }

    /// <summary>The user's member number if the shard has seen the user.</summary>
    public bool TryFind(string userId, out int member)
    {
        member = _table[Find(userId, Hash(userId))].Member;
        return member != Free;
    }

    /// <summary>The user id behind a member number, as a new string.</summary>
    public string UserId(int member) => new(IdOf(member));

    /// <summary>The newest user version applied for the member.</summary>
    public long Version(int member) => _versions[member];

    /// <summary>Records that the member's state through <paramref name="version"/> is applied; versions never go back.</summary>
    public void Advance(int member, long version)
    {
        if (version > _versions[member]) _versions[member] = version;
    }

    /// <summary>Whether the shard has not yet applied the user's state through <paramref name="eventId"/>, or holds it
    /// only in part (<see cref="MarkIncomplete"/>).</summary>
    public bool IsBehind(string userId, long eventId) =>
        !TryFind(userId, out var member) || _versions[member] < eventId || (_incomplete.Count > 0 && _incomplete.Contains(member));

    /// <summary>The member's update failed part way: it counts as behind, whatever later updates (which carry only the
    /// cells their events touched) advance its version to, until <see cref="Completed"/>.</summary>
    public void MarkIncomplete(int member) => _incomplete.Add(member);

    /// <summary>An update carrying every one of the member's cells (reconciliation's republish) was applied whole.</summary>
    public void Completed(int member) => _incomplete.Remove(member);

    private readonly HashSet<int> _incomplete = new();

    /// <summary>Marks the member removed through <paramref name="throughEventId"/>: cells of that version or older are refused from now on.</summary>
    public void Erase(int member, long throughEventId) =>
        _erasedThrough[member] = Math.Max(throughEventId, _erasedThrough.GetValueOrDefault(member));

    /// <summary>Whether a cell of <paramref name="cellVersion"/> was published before the member's removal.</summary>
    public bool IsErased(int member, long cellVersion) =>
        _erasedThrough.Count > 0 && _erasedThrough.TryGetValue(member, out var erased) && cellVersion <= erased;

    /// <summary>Bytes held by the member table, for the memory bench.</summary>
    public long AllocatedBytes => _chars.Length * 2L + _starts.Length * 4L + _versions.Length * 8L + _table.Length * 8L;

    private ReadOnlySpan<char> IdOf(int member) => _chars.AsSpan(_starts[member], _starts[member + 1] - _starts[member]);

    private static int Hash(ReadOnlySpan<char> id) => string.GetHashCode(id);

    /// <summary>The place of the user's pair, or the free place where it would go.</summary>
    private int Find(ReadOnlySpan<char> userId, int hash)
    {
        var table = _table;
        var i = Home(hash, table.Length);
        while (table[i].Member != Free && (table[i].Hash != hash || !IdOf(table[i].Member).SequenceEqual(userId)))
            i = ++i == table.Length ? 0 : i;
        return i;
    }

    private static int Home(int hash, int length) => (int)(((ulong)(uint)hash * (ulong)length) >> 32);

    private int Append(string userId)
    {
        if (_charsUsed + userId.Length > _chars.Length)
            Array.Resize(ref _chars, Math.Max(_charsUsed + userId.Length, _chars.Length + _chars.Length / 2));
        if (_count + 2 > _starts.Length) Array.Resize(ref _starts, _starts.Length + _starts.Length / 2);
        if (_count + 1 > _versions.Length) Array.Resize(ref _versions, _versions.Length + _versions.Length / 2);
        userId.CopyTo(_chars.AsSpan(_charsUsed));
        _starts[_count] = _charsUsed;
        _charsUsed += userId.Length;
        _starts[_count + 1] = _charsUsed;
        _versions[_count] = 0;
        return _count++;
    }

    private void Rehash(int length)
    {
        var table = NewTable(length);
        foreach (var pair in _table)
        {
            if (pair.Member == Free) continue;
            var i = Home(pair.Hash, length);
            while (table[i].Member != Free) i = ++i == length ? 0 : i;
            table[i] = pair;
        }
        _table = table;
    }

    private static Pair[] NewTable(int length)
    {
        var table = new Pair[length];
        Array.Fill(table, new Pair { Member = Free });
        return table;
    }
}
