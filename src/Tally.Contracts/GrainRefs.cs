namespace Tally.Contracts;

/// <summary>
/// Grain references without Orleans' per-call type lookup. <c>IGrainFactory.GetGrain&lt;T&gt;(key)</c> resolves T's grain
/// interface type from its attributes by reflection on every call; in the silo that was 1.5% of the CPU during ingest
/// and 5% while user stats with ranks were read (one call per user grain and per board shard asked). This resolves T's
/// interface and grain type once per process and then builds each reference from its id alone.
/// </summary>
public static class GrainRefs
{
    public static T Grain<T>(this IGrainFactory factory, string key) where T : IGrainWithStringKey
    {
        var types = TypesOf<T>.Get(factory);
        return (T)factory.GetGrain(GrainId.Create(types.Grain, IdSpan.Create(key)), types.Interface);
    }

    public static T Grain<T>(this IGrainFactory factory, long key) where T : IGrainWithIntegerKey
    {
        var types = TypesOf<T>.Get(factory);
        return (T)factory.GetGrain(GrainId.Create(types.Grain, GrainIdKeyExtensions.CreateIntegerKey(key)), types.Interface);
    }

    private sealed record Types(GrainType Grain, GrainInterfaceType Interface);

    private static class TypesOf<T>
    {
        // One object, published whole: a reader on another thread sees both types or none.
        private static Types? _resolved;

        /// <summary>T's grain and interface types, resolved the first time by Orleans itself (from any reference to T).</summary>
        public static Types Get(IGrainFactory factory)
        {
            if (Volatile.Read(ref _resolved) is { } known) return known;
            var reference = (GrainReference)(object)(typeof(IGrainWithIntegerKey).IsAssignableFrom(typeof(T))
                ? factory.GetGrain(typeof(T), 0L)
                : factory.GetGrain(typeof(T), "_"));
            var types = new Types(reference.GrainId.Type, reference.InterfaceType);
            Volatile.Write(ref _resolved, types);
            return types;
        }
    }
}
