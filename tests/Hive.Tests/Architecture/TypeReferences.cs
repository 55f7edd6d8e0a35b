using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Hive.Tests.Architecture;

/// <summary>
/// The types an assembly's metadata names from other assemblies: its TypeReference table, read with
/// System.Reflection.Metadata (every type a signature, a member access, a base type or a <c>typeof</c> names is a
/// row there; a <c>const</c> is inlined and leaves none). A nested type comes with its declaring types.
/// </summary>
internal static class TypeReferences
{
    /// <summary>A type of another assembly; <see cref="FullName"/> is the reflection form (<c>Ns.Outer+Nested</c>).</summary>
    public sealed record Use(string Assembly, string FullName);

    public static IReadOnlyList<Use> Of(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var uses = new HashSet<Use>();
        foreach (var handle in metadata.TypeReferences)
        {
            // The row itself and, for a nested type, each declaring type up to the one the assembly reference scopes.
            for (var current = handle; ;)
            {
                if (AssemblyOf(metadata, current) is { } assembly) uses.Add(new Use(assembly, FullName(metadata, current)));
                var scope = metadata.GetTypeReference(current).ResolutionScope;
                if (scope.Kind != HandleKind.TypeReference) break;
                current = (TypeReferenceHandle)scope;
            }
        }
        return uses.OrderBy(u => u.Assembly, StringComparer.Ordinal).ThenBy(u => u.FullName, StringComparer.Ordinal).ToList();
    }

    private static string? AssemblyOf(MetadataReader metadata, TypeReferenceHandle handle)
    {
        var scope = metadata.GetTypeReference(handle).ResolutionScope;
        return scope.Kind switch
        {
            HandleKind.AssemblyReference => metadata.GetString(metadata.GetAssemblyReference((AssemblyReferenceHandle)scope).Name),
            HandleKind.TypeReference => AssemblyOf(metadata, (TypeReferenceHandle)scope),
            _ => null, // this module, or another module of it
        };
    }

    private static string FullName(MetadataReader metadata, TypeReferenceHandle handle)
    {
        var type = metadata.GetTypeReference(handle);
        var name = metadata.GetString(type.Name);
        if (type.ResolutionScope.Kind == HandleKind.TypeReference)
            return FullName(metadata, (TypeReferenceHandle)type.ResolutionScope) + "+" + name;
        var ns = metadata.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }
}
