using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Tally.Domain.Checkpoints;

/// <summary>
/// A few measure sums (a tier history entry's window) as one array instead of a dictionary: history stays
/// in the user's state for its whole life, and a dictionary per entry cost several times the sums.
/// </summary>
public sealed class SmallSums : IReadOnlyDictionary<string, decimal>
{
    public static readonly SmallSums Empty = new([]);

    private readonly KeyValuePair<string, decimal>[] _items;

    private SmallSums(KeyValuePair<string, decimal>[] items) => _items = items;

    public static SmallSums Of(IReadOnlyDictionary<string, decimal> sums) =>
        sums.Count == 0 ? Empty : new SmallSums(sums.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray());

    public decimal this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

    public IEnumerable<string> Keys => _items.Select(i => i.Key);

    public IEnumerable<decimal> Values => _items.Select(i => i.Value);

    public int Count => _items.Length;

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out decimal value)
    {
        foreach (var (name, sum) in _items)
        {
            if (name != key) continue;
            value = sum;
            return true;
        }
        value = 0;
        return false;
    }

    public IEnumerator<KeyValuePair<string, decimal>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, decimal>>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
