module.exports.handler = (event => ;
