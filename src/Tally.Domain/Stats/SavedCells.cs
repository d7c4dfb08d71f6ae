using System.Buffers.Binary;
using System.Text;
using Tally.Domain.Boards;

namespace Tally.Domain.Stats;

/// <summary>
/// What a board shard's rebuild needs of a saved <see cref="UserStats"/>: its last event id and its board cells, read
/// straight from <see cref="UserStatsCodec"/>'s bytes. Sums, days, counts and active days are stepped over, not built,
/// and the cells' key strings come from a pool the shard keeps, so a user's cells cost no allocation but the list's.
/// Formats before 5 kept their sums in another layout; those are decoded whole.
/// </summary>
public sealed class SavedCells
{
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public SavedCells() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>
    /// Reads <paramref name="bytes"/> into <paramref name="cells"/> (cleared first); returns the state's last event id.
    /// </summary>
    public long Read(ReadOnlySpan<byte> bytes, List<(BoardKey Key, BoardCell Cell)> cells)
    {
        cells.Clear();
        if (bytes.IsEmpty) return 0;
        var version = bytes[0];
        if (version < 5)
        {
            var stats = UserStatsCodec.Decode(bytes);
            foreach (var (key, cell) in stats.Cells) cells.Add((key, cell));
            return stats.LastEventId;
        }
        if (version > UserStatsCodec.LatestFormat) throw new InvalidDataException($"Unknown user stats format version {version}.");
        var r = new SpanReader(bytes[1..]);
        var lastEventId = r.Int64();
        r.Skip(8); // actions
        for (var n = r.Int32(); n > 0; n--)
        {
            r.SkipString(); // measure
            r.Skip(16 + 8 + 16); // sum, actions, magnitude
            for (var s = 0; s < 4; s++) r.SkipSeries(); // days, weeks, months, years
            if (version >= 6)
                for (var present = r.Byte() & 0x0F; present != 0; present &= present - 1) r.SkipSeries();
        }
        r.Skip(r.Int32() * 8); // active day runs
        for (var n = r.Int32(); n > 0; n--)
        {
            var key = new BoardKey(Pooled(ref r), Pooled(ref r), Pooled(ref r), (PeriodKind)r.Byte(), r.Int32());
            cells.Add((key, new BoardCell(r.Decimal(), r.Int64(), r.Int64(), r.Int64())));
        }
        return lastEventId;
    }

    private string Pooled(ref SpanReader r)
    {
        var utf8 = r.StringBytes();
        Span<char> buffer = stackalloc char[256];
        var chars = utf8.Length <= buffer.Length ? buffer[..Encoding.UTF8.GetChars(utf8, buffer)] : Encoding.UTF8.GetString(utf8).AsSpan();
        if (_lookup.TryGetValue(chars, out var known)) return known;
        var text = chars.ToString();
        _strings[text] = text;
        return text;
    }

    /// <summary>Little-endian reads in <see cref="BinaryWriter"/>'s layout; past the end is <see cref="InvalidDataException"/>.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> bytes)
    {
        private ReadOnlySpan<byte> _rest = bytes;

        private ReadOnlySpan<byte> Take(int count)
        {
            if ((uint)count > (uint)_rest.Length) throw new InvalidDataException("The saved user stats end early.");
            var taken = _rest[..count];
            _rest = _rest[count..];
            return taken;
        }

        public void Skip(int count) => Take(count);

        public byte Byte() => Take(1)[0];

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        /// <summary>As <see cref="BinaryReader.ReadDecimal"/>: lo, mid, hi, flags.</summary>
        public decimal Decimal()
        {
            var b = Take(16);
            var flags = BinaryPrimitives.ReadInt32LittleEndian(b[12..]);
            return new decimal(BinaryPrimitives.ReadInt32LittleEndian(b), BinaryPrimitives.ReadInt32LittleEndian(b[4..]),
                BinaryPrimitives.ReadInt32LittleEndian(b[8..]), flags < 0, (byte)(flags >> 16));
        }

        /// <summary>A length-prefixed string's UTF-8 bytes (the length 7 bits a byte, as <see cref="BinaryWriter"/> writes it).</summary>
        public ReadOnlySpan<byte> StringBytes()
        {
            int length = 0, shift = 0;
            byte b;
            do
            {
                if (shift > 28) throw new InvalidDataException("A string length in the saved user stats is malformed.");
                b = Byte();
                length |= (b & 0x7F) << shift;
                shift += 7;
            } while ((b & 0x80) != 0);
            return Take(length);
        }

        public void SkipString() => StringBytes();

        /// <summary>A <see cref="SumSeries"/>: a count, then each entry's key (int) and sum (decimal).</summary>
        public void SkipSeries() => Skip(checked(Int32() * 20));
    }
}
