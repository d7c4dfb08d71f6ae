namespace Tally.Domain.Stats;

/// <summary>
/// One measure's sums per instance of one period kind (each day, or each ISO week, month or year), kept as
/// two sorted parallel arrays: 12 bytes per instance, no object per instance. A sum is held in units of
/// 1/10,000 (a long) while it is exact there, which covers values with up to four decimals; a sum that is
/// not (more decimals, or beyond a long) moves to an exact decimal on the side. Sums stay exact either way.
/// </summary>
internal sealed class SumSeries
{
    private int[] _keys = [];
    private long[] _units = [];
    private int _count;
    private Dictionary<int, decimal>? _exact;

    public int Count => _count;

    /// <summary>Bytes held (arrays and the exact side table), for the memory bench.</summary>
    public long AllocatedBytes => _keys.Length * 4L + _units.Length * 8L + (_exact?.Count ?? 0) * 40L;

    public void Add(int key, decimal value)
    {
        var i = Find(key);
        if (i < 0) i = Insert(~i, key);
        if (_exact is not null && _exact.TryGetValue(key, out var exact))
        {
            _exact[key] = exact + value;
            return;
        }
        if (DecimalUnits.TryFrom(value, out var units))
        {
            var sum = _units[i] + units;
            // Overflow shows as the sign of the result disagreeing with both operands.
            if (((_units[i] ^ sum) & (units ^ sum)) >= 0)
            {
                _units[i] = sum;
                return;
            }
        }
        (_exact ??= new Dictionary<int, decimal>())[key] = DecimalUnits.ToDecimal(_units[i]) + value;
        _units[i] = 0;
    }

    public decimal SumOf(int key)
    {
        var i = Find(key);
        if (i < 0) return 0m;
        return _exact is not null && _exact.TryGetValue(key, out var exact) ? exact : DecimalUnits.ToDecimal(_units[i]);
    }

    public bool Contains(int key) => Find(key) >= 0;

    /// <summary>Every instance with its sum, in key order.</summary>
    public IEnumerable<(int Key, decimal Sum)> Entries()
    {
        for (var i = 0; i < _count; i++) yield return (_keys[i], SumOf(_keys[i]));
    }

    /// <summary>Drops the instances <paramref name="stale"/> picks, and gives the arrays back their slack.</summary>
    public void RemoveWhere(Func<int, bool> stale)
    {
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            if (stale(_keys[i]))
            {
                _exact?.Remove(_keys[i]);
                continue;
            }
            _keys[kept] = _keys[i];
            _units[kept] = _units[i];
            kept++;
        }
        _count = kept;
        if (_keys.Length > _count + 8)
        {
            Array.Resize(ref _keys, _count);
            Array.Resize(ref _units, _count);
        }
        if (_exact is { Count: 0 }) _exact = null;
    }

    private int Find(int key)
    {
        // Most adds go to the newest instance: look at the end first.
        if (_count > 0 && _keys[_count - 1] == key) return _count - 1;
        if (_count == 0 || key > _keys[_count - 1]) return ~_count;
        return Array.BinarySearch(_keys, 0, _count, key);
    }

    private int Insert(int at, int key)
    {
        if (_count == _keys.Length)
        {
            var size = Math.Max(4, _count + _count / 2);
            Array.Resize(ref _keys, size);
            Array.Resize(ref _units, size);
        }
        if (at < _count)
        {
            Array.Copy(_keys, at, _keys, at + 1, _count - at);
            Array.Copy(_units, at, _units, at + 1, _count - at);
        }
        _keys[at] = key;
        _units[at] = 0;
        _count++;
        return at;
    }
}
