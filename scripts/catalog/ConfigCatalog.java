import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Writes a JSON catalog of every public static ConfigOption field found in the given Flink jars.
 * Reflection only, no compile-time Flink dependency, so one build of this file serves every release.
 *
 * <p>Usage: java -cp <this>:<flink jars> ConfigCatalog <out.json> <flink version> <jar to scan>...
 */
public final class ConfigCatalog {

    /** What the catalog records for one key. */
    static final class Entry {
        String type;
        boolean list;
        String defaultValue;
        List<String> enumValues;
        /** Deprecated only when every field declaring the key is: some keys also have a deprecated alias field. */
        int fields;
        int deprecatedFields;
        final TreeSet<String> fallbackKeys = new TreeSet<>();
        final TreeSet<String> deprecatedKeys = new TreeSet<>();
    }

    private static Class<?> configOption;
    private static Method getClazz;
    private static Method isList;
    private static Method convertToString;

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: ConfigCatalog <out.json> <flink version> <jar>...");
            System.exit(2);
        }
        ClassLoader loader = ConfigCatalog.class.getClassLoader();
        configOption = Class.forName("org.apache.flink.configuration.ConfigOption", false, loader);
        // Package-private accessors: the type and list flag are not public API.
        getClazz = configOption.getDeclaredMethod("getClazz");
        getClazz.setAccessible(true);
        isList = configOption.getDeclaredMethod("isList");
        isList.setAccessible(true);
        Class<?> utils = Class.forName("org.apache.flink.configuration.ConfigurationUtils", false, loader);
        // 1.x has convertToString(Object, boolean standardYaml); 2.x dropped the flag.
        for (Method m : utils.getDeclaredMethods()) {
            if (m.getName().equals("convertToString") && m.getParameterCount() >= 1 && m.getParameterTypes()[0] == Object.class) {
                if (convertToString == null || m.getParameterCount() < convertToString.getParameterCount()) convertToString = m;
            }
        }
        convertToString.setAccessible(true);

        Map<String, Entry> options = new TreeMap<>();
        int classes = 0;
        for (int i = 2; i < args.length; i++) {
            for (String name : classNames(args[i])) {
                classes++;
                scan(name, loader, options);
            }
        }
        // Parser behaviour that differs between releases, asked of Flink itself rather than assumed.
        boolean isoDurations = parses(loader, "durationType", "PT10S");
        Files.write(Paths.get(args[0]), render(args[1], isoDurations, options).getBytes(StandardCharsets.UTF_8));
        System.err.println("scanned " + classes + " classes, " + options.size() + " options");
    }

    private static List<String> classNames(String jar) throws IOException {
        List<String> names = new ArrayList<>();
        try (JarFile jf = new JarFile(jar)) {
            Enumeration<JarEntry> entries = jf.entries();
            while (entries.hasMoreElements()) {
                String n = entries.nextElement().getName();
                // Relocated third-party code and anonymous classes never declare Flink options.
                if (!n.endsWith(".class") || !n.startsWith("org/apache/flink/") || n.contains("/shaded/")) continue;
                if (n.matches(".*\\$\\d+.*") || n.endsWith("module-info.class")) continue;
                names.add(n.substring(0, n.length() - 6).replace('/', '.'));
            }
        }
        Collections.sort(names);
        return names;
    }

    private static void scan(String className, ClassLoader loader, Map<String, Entry> options) {
        Field[] fields;
        try {
            fields = Class.forName(className, false, loader).getDeclaredFields();
        } catch (Throwable missingDependency) {
            return;
        }
        for (Field f : fields) {
            int mod = f.getModifiers();
            if (!Modifier.isStatic(mod) || !Modifier.isPublic(mod) || !configOption.isAssignableFrom(f.getType())) continue;
            try {
                f.setAccessible(true);
                Object option = f.get(null);
                if (option != null) record(option, f, options);
            } catch (Throwable initFailed) {
                System.err.println("skipped " + className + "." + f.getName() + ": " + initFailed);
            }
        }
    }

    private static void record(Object option, Field field, Map<String, Entry> options)
            throws Exception {
        String key = (String) configOption.getMethod("key").invoke(option);
        String prefix = suffixPrefix(field);
        // Suffix options (e.g. a reporter's "factory.class") only mean something under a templated prefix.
        if (prefix != null) key = prefix + "." + key;
        Entry e = options.computeIfAbsent(key, k -> new Entry());
        if (e.type == null) {
            Class<?> clazz = (Class<?>) getClazz.invoke(option);
            e.list = (Boolean) isList.invoke(option);
            e.type = typeName(clazz);
            if (clazz.isEnum()) {
                e.enumValues = new ArrayList<>();
                for (Object c : clazz.getEnumConstants()) e.enumValues.add(c.toString());
            }
            if ((Boolean) configOption.getMethod("hasDefaultValue").invoke(option)) {
                Object d = configOption.getMethod("defaultValue").invoke(option);
                if (d != null) e.defaultValue = render(d);
            }
        }
        e.fields++;
        if (field.isAnnotationPresent(Deprecated.class)) e.deprecatedFields++;
        for (Object fb : (Iterable<?>) configOption.getMethod("fallbackKeys").invoke(option)) {
            String fbKey = (String) fb.getClass().getMethod("getKey").invoke(fb);
            boolean deprecated = (Boolean) fb.getClass().getMethod("isDeprecated").invoke(fb);
            (deprecated ? e.deprecatedKeys : e.fallbackKeys).add(fbKey);
        }
    }

    /** Flink's own string form of a value, as it would be written in the config file (flat, legacy style). */
    private static String render(Object value) throws ReflectiveOperationException {
        return (String)
                (convertToString.getParameterCount() == 1
                        ? convertToString.invoke(null, value)
                        : convertToString.invoke(null, value, false));
    }

    private static String suffixPrefix(Field field) {
        for (Annotation a : field.getAnnotations()) {
            if (!a.annotationType().getName().equals("org.apache.flink.annotation.docs.Documentation$SuffixOption")) continue;
            try {
                String value = (String) a.annotationType().getMethod("value").invoke(a);
                return value.endsWith(".") ? value.substring(0, value.length() - 1) : value;
            } catch (ReflectiveOperationException ignored) {
                return null;
            }
        }
        return null;
    }

    private static String typeName(Class<?> clazz) {
        if (clazz.isEnum()) return "Enum";
        if (Map.class.isAssignableFrom(clazz)) return "Map";
        switch (clazz.getName()) {
            case "java.time.Duration":
                return "Duration";
            case "org.apache.flink.configuration.MemorySize":
                return "MemorySize";
            default:
                return clazz.getSimpleName();
        }
    }

    /** Whether Flink's Configuration accepts `value` for an option built with ConfigOptions.key(..).<typeMethod>(). */
    private static boolean parses(ClassLoader loader, String typeMethod, String value) throws Exception {
        Class<?> options = Class.forName("org.apache.flink.configuration.ConfigOptions", true, loader);
        Object builder = options.getMethod("key", String.class).invoke(null, "probe");
        Object typed = builder.getClass().getMethod(typeMethod).invoke(builder);
        Object option = typed.getClass().getMethod("noDefaultValue").invoke(typed);
        Class<?> confClass = Class.forName("org.apache.flink.configuration.Configuration", true, loader);
        Object conf = confClass.getConstructor().newInstance();
        confClass.getMethod("setString", String.class, String.class).invoke(conf, "probe", value);
        try {
            confClass.getMethod("get", configOption).invoke(conf, option);
            return true;
        } catch (InvocationTargetException rejected) {
            return false;
        }
    }

    private static String render(String version, boolean isoDurations, Map<String, Entry> options) {
        StringBuilder out = new StringBuilder();
        out.append("{\"flinkVersion\":").append(q(version));
        out.append(",\"parser\":{\"isoDurations\":").append(isoDurations).append("}");
        out.append(",\"options\":{\n");
        boolean first = true;
        for (Map.Entry<String, Entry> me : options.entrySet()) {
            Entry e = me.getValue();
            if (!first) out.append(",\n");
            first = false;
            out.append(q(me.getKey())).append(":{\"type\":").append(q(e.type));
            if (e.list) out.append(",\"list\":true");
            if (e.defaultValue != null) out.append(",\"default\":").append(q(e.defaultValue));
            if (e.enumValues != null) out.append(",\"values\":").append(arr(e.enumValues));
            if (e.deprecatedFields == e.fields) out.append(",\"deprecated\":true");
            if (!e.fallbackKeys.isEmpty()) out.append(",\"fallbackKeys\":").append(arr(e.fallbackKeys));
            if (!e.deprecatedKeys.isEmpty()) out.append(",\"deprecatedKeys\":").append(arr(e.deprecatedKeys));
            out.append('}');
        }
        return out.append("\n}}\n").toString();
    }

    private static String arr(Iterable<String> values) {
        StringBuilder b = new StringBuilder("[");
        for (String v : values) {
            if (b.length() > 1) b.append(',');
            b.append(q(v));
        }
        return b.append(']').toString();
    }

    private static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
