/**
 * Text translators and tokenizers of the zoo: BERT's WordPiece tokenizer built from a {@code
 * vocab.txt} ({@link org.quantint8.zoo.nlp.BertTokenizers}), text embedding and classification
 * translators for BERT graphs, GPT-2's byte-level BPE ({@link org.quantint8.zoo.nlp.Gpt2Tokenizer})
 * and a causal language model over GPT-2 graphs with a key/value cache ({@link
 * org.quantint8.zoo.nlp.Gpt2LanguageModel}): text generation and perplexity.
 */
package org.quantint8.zoo.nlp;
