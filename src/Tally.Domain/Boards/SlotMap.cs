using System.Runtime.InteropServices;

namespace Tally.Domain.Boards;

/// <summary>
/// A board's member numbers to their slots: open addressing with linear probing over one array of 8-byte pairs, at
/// most four fifths full, so about 10–15 bytes a member where a <see cref="Dictionary{TKey,TValue}"/> of the same
/// pairs takes 24 or more. Member numbers are not negative; -1 marks a free place. A removal shifts the places after
/// it back, so no tombstones build up.
/// </summary>
public sealed class SlotMap
{
    private const int Free = -1;

    [StructLayout(LayoutKind.Sequential)]
    private struct Pair
    {
        public int Member;
        public int Slot;
    }

    private Pair[] _pairs = [];
    private int _count;

    public int Count => _count;

    /// <summary>Bytes held, for the memory bench.</summary>
    public long AllocatedBytes => _pairs.Length * 8L;

    /// <summary>Makes room for <paramref name="members"/> members in all, at once.</summary>
    public void EnsureCapacity(int members)
    {
        if (members > Limit(_pairs.Length)) Resize(members + members / 4 + 1);
    }

    public bool TryGetValue(int member, out int slot)
    {
        var pairs = _pairs;
        if (pairs.Length > 0)
            for (var i = Home(member, pairs.Length); ; i = Next(i, pairs.Length))
            {
                if (pairs[i].Member == member)
                {
                    slot = pairs[i].Slot;
                    return true;
                }
                if (pairs[i].Member == Free) break;
            }
        slot = 0;
        return false;
    }

    public bool ContainsKey(int member) => TryGetValue(member, out _);

    /// <summary>The member's slot to read or write, added as 0 if the member is new: one probe for both cases.</summary>
    public ref int GetValueRefOrAddDefault(int member, out bool exists)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(member);
        if (_count + 1 > Limit(_pairs.Length)) Resize(Math.Max(8, _pairs.Length + _pairs.Length / 2));
        var pairs = _pairs;
        var i = Home(member, pairs.Length);
        while (pairs[i].Member != Free)
        {
            if (pairs[i].Member == member)
            {
                exists = true;
                return ref pairs[i].Slot;
            }
            i = Next(i, pairs.Length);
        }
        exists = false;
        _count++;
        pairs[i].Member = member;
        pairs[i].Slot = 0;
        return ref pairs[i].Slot;
    }

    public bool Remove(int member, out int slot)
    {
        slot = 0;
        var pairs = _pairs;
        if (pairs.Length == 0) return false;
        var i = Home(member, pairs.Length);
        while (pairs[i].Member != member)
        {
            if (pairs[i].Member == Free) return false;
            i = Next(i, pairs.Length);
        }
        slot = pairs[i].Slot;
        _count--;
        // Backward shift: a later pair moves into the hole if its home is not between the hole and it (cyclically).
        var j = i;
        while (true)
        {
            j = Next(j, pairs.Length);
            if (pairs[j].Member == Free) break;
            var home = Home(pairs[j].Member, pairs.Length);
            var between = i <= j ? i < home && home <= j : i < home || home <= j;
            if (between) continue;
            pairs[i] = pairs[j];
            i = j;
        }
        pairs[i].Member = Free;
        return true;
    }

    private static int Limit(int length) => length - length / 5;

    // Fibonacci hashing spreads consecutive member numbers; multiplying into the length maps onto any size.
    private static int Home(int member, int length) => (int)(((ulong)((uint)member * 0x9E3779B9u) * (ulong)length) >> 32);

    private static int Next(int i, int length) => ++i == length ? 0 : i;

    private void Resize(int length)
    {
        var old = _pairs;
        var pairs = new Pair[length];
        Array.Fill(pairs, new Pair { Member = Free });
        foreach (var pair in old)
        {
            if (pair.Member == Free) continue;
            var i = Home(pair.Member, length);
            while (pairs[i].Member != Free) i = Next(i, length);
            pairs[i] = pair;
        }
        _pairs = pairs;
    }
}
