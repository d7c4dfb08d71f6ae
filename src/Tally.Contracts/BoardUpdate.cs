using Tally.Domain.Boards;

namespace Tally.Contracts;

/// <summary>
/// A user's absolute standing on some boards after event <see cref="UserVersion"/> (the id of the
/// newest event applied). Boards keep a cell only if its version is newer than what they hold, so
/// redelivered and stale updates change nothing.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record UserBoardUpdate(
    [property: Id(0)] string UserId,
    [property: Id(1)] long UserVersion,
    // Ids 2 and 3 were parallel key and cell arrays until 2026-12-07: a new id, so a silo of the old version finds no
    // cells in a new batch rather than misreading them.
    [property: Id(4)] KeyedCell[] Cells);

/// <summary>One board cell of a user and the board (or rollup, or goal level) it belongs to.</summary>
[GenerateSerializer, Immutable]
public readonly record struct KeyedCell([property: Id(0)] BoardKey Key, [property: Id(1)] BoardCell Cell);

/// <summary>What a silo sends a board shard: many users' updates, gathered for a few milliseconds.</summary>
[GenerateSerializer, Immutable]
public sealed record BoardUpdateBatch(
    [property: Id(0)] UserBoardUpdate[] Users,
    [property: Id(1)] long PublishedAtUnixMs);
