package org.quantint8.onnx;

/**
 * A key-value pair ({@code StringStringEntryProto}), as used by model metadata and by the
 * external-data description of tensors.
 *
 * @param key the key
 * @param value the value
 */
record StringEntry(String key, String value) {

    private static final int KEY = 1;
    private static final int VALUE = 2;

    /**
     * Reads an entry; the reader is positioned at its length prefix.
     *
     * @param in the reader
     * @return the entry, with empty strings for absent parts
     * @throws OnnxFormatException if the encoding is malformed
     */
    static StringEntry read(ProtoReader in) throws OnnxFormatException {
        String key = "";
        String value = "";
        int enclosing = in.enterMessage();
        while (in.hasMore()) {
            int tag = in.readTag();
            switch (ProtoReader.fieldNumber(tag)) {
                case KEY -> key = in.readString(tag, "key");
                case VALUE -> value = in.readString(tag, "value");
                default -> in.skipField(tag);
            }
        }
        in.exitMessage(enclosing);
        return new StringEntry(key, value);
    }

    /**
     * Writes this entry as a field of the enclosing message.
     *
     * @param out the enclosing message
     * @param fieldNumber the field number of the entry in the enclosing message
     */
    void write(ProtoWriter out, int fieldNumber) {
        ProtoWriter entry = new ProtoWriter();
        entry.writeStringField(KEY, key);
        entry.writeStringField(VALUE, value);
        out.writeMessageField(fieldNumber, entry);
    }
}
