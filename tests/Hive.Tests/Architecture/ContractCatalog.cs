using System.Reflection;
using MediatR;

namespace Hive.Tests.Architecture;

/// <summary>
/// What one feature may use of another (DESIGN.md: "only through that feature's public requests, notifications, or
/// one small public interface"), computed from the features' own types, so it follows the code as slices change:
/// <list type="bullet">
/// <item>a public request (implements MediatR's <c>IRequest&lt;T&gt;</c>; <c>IRequest</c> is <c>IRequest&lt;Unit&gt;</c>);</item>
/// <item>the static class of a use case that nests one (<c>AppendMessages</c>) and every public type nested in it
/// (<c>Command</c>, <c>Query</c>, <c>Result</c>, <c>Draft</c>, a callback delegate);</item>
/// <item>a public notification (<c>INotification</c>);</item>
/// <item>an interface on an explicit allow-list, each with the reason DESIGN.md gives;</item>
/// <item>any feature type in the public surface of the above, transitively: a response (<c>MessageView</c>), a
/// property, a constructor or method parameter, a base type.</item>
/// </list>
/// Everything else public in a feature (its Carter module, its <c>*Feature</c> registration, options, a helper made
/// public for tests) is not a contract.
/// </summary>
internal sealed class ContractCatalog
{
    private readonly Dictionary<string, string> _why = new(StringComparer.Ordinal);

    /// <summary>Each contract type's full name and why it is one.</summary>
    public IReadOnlyDictionary<string, string> Why => _why;

    public bool Contains(string fullName) => _why.ContainsKey(fullName);

    public static ContractCatalog Of(IEnumerable<Assembly> features, IReadOnlyDictionary<string, string> allowedInterfaces)
    {
        var catalog = new ContractCatalog();
        var pending = new Queue<Type>();
        void Add(Type type, string why)
        {
            if (type.FullName is { } name && catalog._why.TryAdd(name, why)) pending.Enqueue(type);
        }

        var types = features.SelectMany(a => a.GetTypes()).Where(t => t.IsVisible).ToList();
        var featureAssemblies = types.Select(t => t.Assembly).ToHashSet();
        foreach (var request in types.Where(IsRequest))
        {
            Add(request, "a request");
            if (request.DeclaringType is { IsAbstract: true, IsSealed: true } useCase) // a static class
            {
                Add(useCase, $"the use case of the request {request.Name}");
                foreach (var nested in useCase.GetNestedTypes().Where(n => n.IsVisible))
                    Add(nested, $"public in the use case {useCase.Name}");
            }
        }
        foreach (var notification in types.Where(t => typeof(INotification).IsAssignableFrom(t) && !t.IsInterface))
            Add(notification, "a notification");
        foreach (var (name, reason) in allowedInterfaces)
        {
            var type = types.SingleOrDefault(t => t.FullName == name)
                ?? throw new InvalidOperationException($"the interface allow-list names {name}, which no feature declares (any more)");
            Add(type, $"allowed interface: {reason}");
        }

        while (pending.TryDequeue(out var contract))
            foreach (var type in SurfaceOf(contract).SelectMany(Unwrap).Where(t => featureAssemblies.Contains(t.Assembly) && t.IsVisible))
                Add(type, $"in the public surface of {contract.FullName}");
        return catalog;
    }

    private static bool IsRequest(Type type) =>
        !type.IsInterface && type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRequest<>));

    /// <summary>The types a caller meets using <paramref name="type"/>: base, interfaces, public members' signatures.</summary>
    private static IEnumerable<Type> SurfaceOf(Type type)
    {
        const BindingFlags declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        if (type.BaseType is { } baseType) yield return baseType;
        foreach (var i in type.GetInterfaces()) yield return i;
        foreach (var f in type.GetFields(declared)) yield return f.FieldType;
        foreach (var p in type.GetProperties(declared))
        {
            yield return p.PropertyType;
            foreach (var index in p.GetIndexParameters()) yield return index.ParameterType;
        }
        foreach (var m in type.GetMethods(declared))
        {
            yield return m.ReturnType;
            foreach (var p in m.GetParameters()) yield return p.ParameterType;
        }
        foreach (var c in type.GetConstructors(BindingFlags.Public | BindingFlags.Instance))
            foreach (var p in c.GetParameters()) yield return p.ParameterType;
        foreach (var e in type.GetEvents(declared))
            if (e.EventHandlerType is { } handler) yield return handler;
    }

    /// <summary><c>IReadOnlyList&lt;MessageView?&gt;[]</c> → <c>IReadOnlyList`1</c>, <c>MessageView</c>; generic parameters dropped.</summary>
    private static IEnumerable<Type> Unwrap(Type type)
    {
        if (type.IsGenericParameter) yield break;
        if (type.HasElementType)
        {
            foreach (var t in Unwrap(type.GetElementType()!)) yield return t;
            yield break;
        }
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            yield return type.GetGenericTypeDefinition();
            foreach (var t in type.GetGenericArguments().SelectMany(Unwrap)) yield return t;
            yield break;
        }
        yield return type;
    }
}
